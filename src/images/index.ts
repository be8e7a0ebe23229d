/** Image input/output for the service: data URLs, source decoding, PNG encoding (sharp). */
export { parseDataUrl, ACCEPTED_IMAGE_MIME, type AcceptedImageMime, type ParsedDataUrl } from './data-url';
export { decodeSourceImage, type DecodeLimits, type DecodedSourceImage } from './decode';
export { encodePng, rgbToPng, pngToTensor, type PngTensor } from './encode';
export { sniffImageFormat, type AcceptedImageFormat, type SniffResult } from './formats';
