#!/usr/bin/env node
/**
 * The `weir` command: parses arguments and dispatches to the API. Main thread of the CLI
 * process. Exit 0 when a bounded job finishes; a failed job prints one line on stderr and
 * exits 1; bad usage (unknown flag, malformed or invalid option) adds a pointer to --help and
 * exits 2; a job canceled by SIGINT/SIGTERM exits 130.
 */
import { cac } from 'cac';
import { WeirError } from '../errors.ts';
import { listCheckpointsCommand, type CheckpointsFlags } from './checkpoints-command.ts';
import { runCommand, UsageError, type RunFlags } from './run-command.ts';

const cli = cac('weir');

cli
  .command('run <job>', 'Run a job module (its default export is defineJob(...)) until its sources end')
  .option('-p, --parallelism <n>', 'Parallelism of operators that set none (default 1)')
  .option('--max-parallelism <n>', 'Number of key groups (default 128 for parallelism up to 85)')
  .option('--param <key=value>', 'A job parameter, read as env.params.key (repeatable)')
  .option('--ring-bytes <bytes>', 'Capacity of each channel ring, a power of two (default 262144)')
  .option('--record-codec <name>', 'Record codec on channels: binary (default), json or v8')
  .option('--checkpoint-dir <dir>', 'Take checkpoints into this directory (<dir>/<job-name>/chk-<n>/)')
  .option('--checkpoint-interval <duration>', 'Time between checkpoints, e.g. 500ms, 1s (default 1s with --checkpoint-dir)')
  .option('--mode <mode>', 'Checkpointing mode: exactly-once (default) or at-least-once')
  .option('--debloat', 'Buffer debloating: channel buffers follow ~1 s of throughput (Flink defaults)')
  .option('--debloat-target <duration>', 'Buffer debloating with this much throughput in flight per input gate instead of 1s (e.g. 200ms; implies --debloat)')
  .option('--aligned-timeout <duration>', 'Start checkpoints aligned; a subtask switches to unaligned once alignment runs this long past the trigger (e.g. 100ms)')
  .option('--unaligned', 'Unaligned checkpoints: barriers overtake in-flight data, which is stored and replayed on restore')
  .option('--resume', 'Continue from the latest retained checkpoint in --checkpoint-dir')
  .option('--from <path>', 'Start from this checkpoint (a chk-<n> directory or its _metadata)')
  .option('--job-name <name>', 'Name of the job under --checkpoint-dir (default: the module file name)')
  .option('--num-retained <n>', 'Completed checkpoints to keep (default 1)')
  .option('--state-backend <name>', 'Keyed state backend: heap (default) or lsm (Weir\'s LSM tree, incremental checkpoints)')
  .option('--lsm-memory-budget <bytes>', 'LSM memtable + block cache per keyed subtask (default 67108864)')
  .option('--lsm-incremental <true|false>', 'LSM checkpoints upload only new SST files (default true; false uploads all)')
  .option('--restart-strategy <spec>', "none | fixed-delay[:attempts=N,delay=1s] | exponential-delay[:…] | failure-rate[:…] (default exponential-delay with checkpoints, none without)")
  .option('--quiet', 'Print nothing on success')
  .example('weir run examples/wordcount.ts --parallelism 2 --param out=/tmp/wordcount')
  .example('weir run job.ts --checkpoint-dir /tmp/chk --checkpoint-interval 500ms   # then, after a crash: add --resume')
  .action(async (job: string, flags: RunFlags) => {
    process.exitCode = await runCommand(job, flags);
  });

cli
  .command('checkpoints <dir>', 'List the retained checkpoints in a checkpoint directory, with their statistics')
  .option('--json', 'Print one JSON document (Flink\'s REST names) instead of tables')
  .example('weir checkpoints /tmp/chk')
  .action(async (dir: string, flags: CheckpointsFlags) => {
    process.exitCode = await listCheckpointsCommand(dir, { json: flags.json === true });
  });

cli.help();
cli.version(process.env.npm_package_version ?? '0.1.0');

function fail(error: unknown, usage: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof WeirError ? ` [${error.code}]` : '';
  process.stderr.write(`weir: ${message}${code}\n`);
  if (usage) process.stderr.write(`Run 'weir --help' for usage.\n`);
  process.exitCode = usage ? 2 : 1;
}

try {
  cli.parse(process.argv, { run: false });
  if (cli.matchedCommand === undefined) {
    if (cli.args.length > 0) throw new UsageError(`unknown command '${cli.args[0]}'`);
    if (!cli.options.help && !cli.options.version) cli.outputHelp();
  } else {
    await cli.runMatchedCommand();
  }
} catch (error) {
  const usage =
    error instanceof UsageError ||
    (error instanceof Error && error.name === 'CACError') ||
    (error instanceof WeirError && error.code === 'WEIR_INVALID_OPTION');
  fail(error, usage);
}
