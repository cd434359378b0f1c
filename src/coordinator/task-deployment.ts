/**
 * Turns a job graph into one TaskSpec per subtask: allocates a doorbell and control words per
 * subtask and one SharedArrayBuffer ring per (producer subtask, consumer subtask) channel of
 * every edge, and hands each side its ends in a fixed order. Main thread, called by the job
 * coordinator before scheduling.
 */
import { createDoorbell, createRingBuffer } from '../channels/ring-buffer.ts';
import type { OutputChannel } from '../channels/output-writer.ts';
import { edgeChannels, type JobGraph, type JobVertex } from '../graph/job-graph.ts';
import type { PlanConfig } from '../graph/job-definition.ts';
import { createTaskControl } from '../task/task-control.ts';
import type { TaskSpec } from '../task/task-spec.ts';

export interface DeploymentConfig {
  readonly jobUrl: string;
  readonly planConfig: PlanConfig;
  readonly ringBytes: number;
  readonly recordCodec: string;
}

export interface SubtaskDeployment {
  readonly vertex: JobVertex;
  readonly subtaskIndex: number;
  readonly spec: TaskSpec;
}

export function deployTasks(graph: JobGraph, config: DeploymentConfig): SubtaskDeployment[] {
  const doorbells = graph.vertices.map((v) => Array.from({ length: v.parallelism }, () => createDoorbell()));
  const inputs = graph.vertices.map((v) => Array.from({ length: v.parallelism }, () => [] as SharedArrayBuffer[]));
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
      deployments.push({
        vertex,
        subtaskIndex,
        spec: {
          jobUrl: config.jobUrl,
          planConfig: config.planConfig,
          vertexIndex: vertex.index,
          vertexName: vertex.name,
          subtaskIndex,
          recordCodec: config.recordCodec,
          control: createTaskControl(),
          doorbell: doorbells[vertex.index]![subtaskIndex]!,
          inputs: inputs[vertex.index]![subtaskIndex]!,
          outputs: outputs[vertex.index]![subtaskIndex]!,
        },
      });
    }
  }
  return deployments;
}
