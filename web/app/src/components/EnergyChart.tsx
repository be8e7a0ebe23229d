/** Both experts' energies over the steps (uPlot), updated as STEP events arrive. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface EnergyPoint {
  step: number;
  realism: number;
  faithfulness: number;
}

export function EnergyChart({ points, width = 420, height = 180 }: { points: EnergyPoint[]; width?: number; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    if (!el.current) return;
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false } },
      axes: [
        { label: 'step', size: 36 },
        { scale: 'realism', label: 'realism', size: 56, stroke: '#1c7ed6' },
        { scale: 'faithfulness', label: 'faithfulness', side: 1, size: 56, stroke: '#e8590c', grid: { show: false } },
      ],
      series: [
        { label: 'step' },
        { label: 'realism', scale: 'realism', stroke: '#1c7ed6', width: 2 },
        { label: 'faithfulness', scale: 'faithfulness', stroke: '#e8590c', width: 2 },
      ],
    };
    plot.current = new uPlot(opts, [[], [], []], el.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [width, height]);

  useEffect(() => {
    plot.current?.setData([points.map((p) => p.step), points.map((p) => p.realism), points.map((p) => p.faithfulness)]);
  }, [points]);

  return <div ref={el} data-testid="energy-chart" data-points={points.length} />;
}
