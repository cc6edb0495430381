/**
 * One flow as a diagram: stages left to right joined by arrows, each stage's channels stacked below it and
 * joined to it by a fanning line. Each box shows the in/out/dropped rates and is coloured by its status; a
 * violated hand-off colours the arrow into the stage that receives less than the previous one passed on.
 */
import { useId } from 'react';
import type { Flow, FlowPart } from '../../lib/health.ts';
import { flowTone, formatRate } from './model.ts';

const W = 220;
const H = 84;
const GAP_X = 56;
const GAP_Y = 26;
const PAD = 8;

export function FlowDiagram({ flow }: { flow: Flow }) {
  // Flow names may hold characters that are awkward in url(#…) references; React's ids are safe.
  const arrow = `flow-arrow${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  const stageX = (i: number) => PAD + i * (W + GAP_X);
  const byStage = new Map<string, number>(flow.stages.map((s, i) => [s.name, i]));
  const channelRows = flow.stages.map((s) => flow.channels.filter((c) => c.stage === s.name));
  const orphans = flow.channels.filter((c) => !byStage.has(c.stage));
  const rows = Math.max(0, ...channelRows.map((r) => r.length));
  const width = PAD * 2 + Math.max(1, flow.stages.length) * (W + GAP_X) - GAP_X;
  const height = PAD * 2 + H + rows * (H + GAP_Y);
  return (
    <div className="flow-diagram-wrap">
      <svg
        className="flow-diagram"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Flow ${flow.name}: ${flow.stages.map((s) => s.name).join(' → ')}`}
      >
        <defs>
          <marker
            id={arrow}
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="9"
            markerHeight="9"
            markerUnits="userSpaceOnUse"
            orient="auto"
          >
            <path d="M0 0 L10 5 L0 10 z" className="flow-arrowhead" />
          </marker>
        </defs>
        {flow.stages.slice(1).map((s, i) => {
          const lossy = s.checks.some((c) => c.kind === 'handoff' && c.status === 'violated');
          const y = PAD + H / 2;
          return (
            <line
              key={`edge-${s.name}`}
              className={`flow-edge${lossy ? ' lossy' : ''}`}
              data-testid="flow-edge"
              data-to={s.name}
              data-lossy={lossy ? 'true' : 'false'}
              x1={stageX(i) + W}
              y1={y}
              x2={stageX(i + 1) - 2}
              y2={y}
              markerEnd={`url(#${arrow})`}
            >
              <title>
                {lossy ? `items lost on the way into ${s.name}` : `${flow.stages[i]!.name} → ${s.name}`}
              </title>
            </line>
          );
        })}
        {flow.stages.map((s, i) => (
          <g key={`stage-${s.name}`}>
            {channelRows[i]!.map((c, j) => {
              const y = PAD + H + GAP_Y + j * (H + GAP_Y);
              const x = stageX(i);
              return (
                <g key={`channel-${c.name}`}>
                  <path
                    className="flow-edge"
                    d={`M${x + 14} ${PAD + H} V${y + H / 2} H${x + 26}`}
                    fill="none"
                    markerEnd={`url(#${arrow})`}
                  />
                  <PartBox part={c} x={x + 28} y={y} w={W - 28} channel />
                </g>
              );
            })}
            <PartBox part={s} x={stageX(i)} y={PAD} w={W} />
          </g>
        ))}
      </svg>
      {orphans.length > 0 && (
        <p className="muted">
          Channels of unknown stages: {orphans.map((c) => `${c.name} (from ${c.stage})`).join(', ')}
        </p>
      )}
    </div>
  );
}

function PartBox({
  part,
  x,
  y,
  w,
  channel,
}: {
  part: FlowPart;
  x: number;
  y: number;
  w: number;
  channel?: boolean;
}) {
  const tone = flowTone(part.status);
  const violated = part.checks.filter((c) => c.status === 'violated').map((c) => c.kind);
  return (
    <g
      className={`flow-part tone-${tone}`}
      data-testid="flow-part"
      data-part={part.name}
      data-kind={channel ? 'channel' : 'stage'}
      data-status={part.status}
      transform={`translate(${x} ${y})`}
    >
      <title>
        {`${channel ? 'channel' : 'stage'} ${part.name}: ${part.status}` +
          part.checks.map((c) => `\n${c.kind}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`).join('')}
      </title>
      <rect width={w} height={H} rx={6} />
      <text x={10} y={19} className="flow-part-name">
        {part.name}
      </text>
      <text x={w - 10} y={19} textAnchor="end" className="flow-part-status">
        {part.status}
      </text>
      <text x={10} y={40} className="flow-part-rates">
        in {formatRate(part.rates.in)} · out {formatRate(part.rates.out)}
      </text>
      <text x={10} y={57} className="flow-part-rates">
        dropped {formatRate(part.rates.dropped)}
      </text>
      {violated.length > 0 && (
        <text x={10} y={75} className="flow-part-violated">
          {violated.join(', ')}
        </text>
      )}
    </g>
  );
}
