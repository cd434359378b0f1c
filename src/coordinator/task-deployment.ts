/**
 * Turns a job graph into one TaskSpec per subtask: allocates a doorbell and control words per
 * subtask and one SharedArrayBuffer ring per (producer subtask, consumer subtask) channel of
 * every edge, and hands each side its ends in a fixed order. Main thread, called by the job
 * coordinator before scheduling.
 */
import type { DebloatSettings } from '../channels/debloat-driver.ts';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { createDoorbell } from '../channels/doorbell.ts';
import { createRingBuffer } from '../channels/ring-buffer.ts';
import { subtaskKey } from '../checkpoint/restore-assignment.ts';
import type { SubtaskRestore } from '../task/checkpoint-messages.ts';
import type { OutputChannel } from '../channels/output-writer.ts';
import { edgeChannels, type JobGraph, type JobVertex } from '../graph/job-graph.ts';
import type { PlanConfig } from '../graph/job-definition.ts';
import { createTaskControl } from '../task/task-control.ts';
import type { TaskCheckpointing, TaskSpec } from '../task/task-spec.ts';
import type { StateBackendConfig } from '../state/state-backend-factory.ts';

export interface DeploymentConfig {
  readonly jobUrl: string;
  readonly planConfig: PlanConfig;
  readonly ringBytes: number;
  readonly recordCodec: string;
  readonly debloat: DebloatSettings | undefined;
  readonly checkpointing: TaskCheckpointing | undefined;
  readonly stateBackend: StateBackendConfig;
  /** By subtask key: what each subtask restores (this attempt restores from a checkpoint). */
  readonly restore: ReadonlyMap<string, SubtaskRestore> | undefined;
}

export interface SubtaskDeployment {
  readonly vertex: JobVertex;
  readonly subtaskIndex: number;
  /** `${vertexIndex}/${subtaskIndex}`. */
  readonly key: string;
  /** True when the subtask's chain starts with a source (checkpoints are triggered there). */
  readonly isSource: boolean;
  readonly spec: TaskSpec;
  /** The coordinator's end of the subtask's checkpoint port (checkpointing jobs only). */
  readonly coordinatorPort: MessagePort | undefined;
}

export function deployTasks(graph: JobGraph, config: DeploymentConfig): SubtaskDeployment[] {
  const doorbells = graph.vertices.map((v) => Array.from({ length: v.parallelism }, () => createDoorbell()));
  const inputs = graph.vertices.map((v) => Array.from({ length: v.parallelism }, () => [] as SharedArrayBuffer[]));
  const inputOf = graph.vertices.map((v) => Array.from({ length: v.parallelism }, () => [] as number[]));
  // outputs[vertex][subtask][edge position in vertex.outputs] = channels by consumer channel index
  const outputs = graph.vertices.map((v) =>
    Array.from({ length: v.parallelism }, () => v.outputs.map(() => [] as OutputChannel[])),
  );
  // Edges in vertex input order, so each gate lists its channels edge by edge, producer by producer.
  for (const vertex of graph.vertices) {
    for (const edge of vertex.inputs) {
      const outputPosition = edge.source.outputs.indexOf(edge);
      for (const [producer, consumer] of edgeChannels(edge)) {
        const ring = createRingBuffer(config.ringBytes);
        inputs[vertex.index]![consumer]!.push(ring);
        inputOf[vertex.index]![consumer]!.push(edge.typeNumber);
        outputs[edge.source.index]![producer]![outputPosition]!.push({
          ring,
          doorbell: doorbells[vertex.index]![consumer]!,
        });
      }
    }
  }
  const deployments: SubtaskDeployment[] = [];
  for (const vertex of graph.vertices) {
    for (let subtaskIndex = 0; subtaskIndex < vertex.parallelism; subtaskIndex++) {
      const key = subtaskKey(vertex.index, subtaskIndex);
      const channel = config.checkpointing === undefined ? undefined : new MessageChannel();
      deployments.push({
        vertex,
        subtaskIndex,
        key,
        isSource: vertex.chain[0]!.transformation.kind === 'source',
        coordinatorPort: channel?.port1,
        spec: {
          jobUrl: config.jobUrl,
          planConfig: config.planConfig,
          vertexIndex: vertex.index,
          vertexName: vertex.name,
          subtaskIndex,
          recordCodec: config.recordCodec,
          ...(config.debloat === undefined ? {} : { debloat: config.debloat }),
          control: createTaskControl(),
          doorbell: doorbells[vertex.index]![subtaskIndex]!,
          inputs: inputs[vertex.index]![subtaskIndex]!,
          inputOf: inputOf[vertex.index]![subtaskIndex]!,
          outputs: outputs[vertex.index]![subtaskIndex]!,
          checkpointing: config.checkpointing,
          stateBackend: config.stateBackend,
          restore: config.restore?.get(key),
          port: channel?.port2,
        },
      });
    }
  }
  return deployments;
}
