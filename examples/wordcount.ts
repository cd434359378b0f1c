// Streaming word count: lines from text files → words → a running count per word → JSON lines.
//   npx weir run examples/wordcount.ts --parallelism 2
//   npx weir run examples/wordcount.ts --param input=my-texts/ --param out=/tmp/counts
// Every input word produces one output line {"word":…,"count":n} with its running count, as
// Flink's streaming WordCount does; the last line per word holds its total.
import { defineJob, FileSink, FileSource } from 'weir';

export default defineJob((env) => {
  const input = env.params.input ?? new URL('./data/', import.meta.url).pathname;
  const out = env.params.out ?? '.weir-out/wordcount';

  env
    .fromSource(new FileSource({ path: input }), 'lines')
    .flatMap((line: string) => line.toLowerCase().split(/[^\p{L}\p{N}']+/u).filter((w) => w !== ''))
    .name('tokenize')
    .map((word) => ({ word, count: 1 }))
    .keyBy((r) => r.word)
    .reduce((a, b) => ({ word: a.word, count: a.count + b.count }))
    .name('count')
    .sinkTo(new FileSink({ directory: out }), 'counts');
});
