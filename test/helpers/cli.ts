// Running the weir CLI as a child process (for tests that kill the whole process) and reading
// which checkpoints of a job completed.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');

export function completedCheckpoints(chkRoot: string, jobName: string): number[] {
  const jobDir = join(chkRoot, jobName);
  if (!existsSync(jobDir)) return [];
  return readdirSync(jobDir)
    .filter((name) => /^chk-\d+$/.test(name) && existsSync(join(jobDir, name, '_metadata')))
    .map((name) => Number(name.slice(4)))
    .sort((a, b) => a - b);
}

/** Runs the CLI; kills it with SIGKILL after `killAfterMs` unless it exited first. */
export function runCli(args: string[], killAfterMs: number | undefined): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`weir ${args.join(' ')} did not exit within 60 s`));
    }, 60_000);
    const killer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(killer);
      resolve({ code, signal, stderr });
    });
  });
}

