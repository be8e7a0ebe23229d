/**
 * The offline GraphQL IDE at GET /graphql (a browser's address bar): GraphiQL, bundled with its
 * CSS and fonts, talking to this same server (HTTP and graphql-ws). See ./fetcher.ts for how the
 * headers editor's Authorization reaches both transports.
 */
import { StrictMode, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import { createIdeFetcher, endpointOf, INTROSPECTION_DISABLED_NOTICE } from './fetcher';

const DEFAULT_QUERY = `# EGSDE: unpaired image-to-image translation as a GraphQL service.
#
# Run an operation with Ctrl-Enter (or the run button). Send an API key by opening the
# Headers tab below and entering:  { "Authorization": "Bearer <key>" }
# (it is sent with every HTTP request and as the WebSocket's connectionParams.authorization).

query Packs {
  packs {
    name
    imageSize
    defaults {
      M
      steps
    }
  }
}

# A translation: queue it (image: a data:image/png;base64,... URL), then follow its events.
#
# mutation Translate($image: String!) {
#   translate(input: { task: "tiny-adm", image: $image, params: { M: 3 } }) { id status }
# }
#
# subscription Events {
#   runEvents(id: "<run id>") { seq type status step totalSteps previewUrl outputUrl terminal }
# }
`;

function App() {
  const [introspection, setIntrospection] = useState(true);
  const fetcher = useMemo(() => createIdeFetcher({ ...endpointOf(window.location), onIntrospection: setIntrospection }), []);
  return (
    <div style={{ display: 'flex', flexDirection: 'column', height: '100%' }}>
      {introspection ? null : (
        <div role="status" className="egsde-notice" data-testid="introspection-disabled" style={{ padding: '8px 16px', background: '#fff4e5', color: '#663c00', fontFamily: 'sans-serif', fontSize: 14, borderBottom: '1px solid #ffcc80' }}>
          {INTROSPECTION_DISABLED_NOTICE}
        </div>
      )}
      <div style={{ flex: 1, minHeight: 0 }}>
        <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} isHeadersEditorEnabled shouldPersistHeaders={false} onSchemaChange={() => setIntrospection(true)} />
      </div>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
