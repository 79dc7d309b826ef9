// The Hugging Face side of the tokenizer benchmark (see run-tokenizer-bench.sh): the same measurement as
// `jiniac-bench tokenize` with npm tokenizers (HF's Rust tokenizers through napi bindings).
// Usage: node hf-tokenize.js --tokenizer FILE --text FILE [--seconds S] [--split paragraphs|lines]
//                            [--batch N] [--ids-out FILE] [--modes cold,warm,encode]
// `tokenizers` is resolved from NODE_PATH (the script installs it outside the repository).
// Documents are split exactly as tools/Jiniac.Bench/Documents.cs does: CRLF -> LF, split on "\n\n" (or "\n"),
// empty pieces dropped. Prints RESULT lines in the same format.
'use strict';
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const os = require('os');

function parseArgs(argv) {
  const a = { seconds: 10, split: 'paragraphs', batch: 256, modes: 'cold,warm' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    if (!['tokenizer', 'text', 'seconds', 'split', 'batch', 'idsOut', 'modes'].includes(key)) throw new Error(`unknown argument ${argv[i]}`);
    a[key] = argv[i + 1];
  }
  if (!a.tokenizer || !a.text) throw new Error('needs --tokenizer FILE and --text FILE');
  a.seconds = Number(a.seconds);
  a.batch = Number(a.batch);
  return a;
}

const OPTIONS = { addSpecialTokens: false };

// One `encode` call (one promise) per document, awaited in turn: one document in flight at a time.
async function singlePass(tok, docs) {
  let sum = 0, count = 0;
  for (const d of docs) {
    const ids = (await tok.encode(d, null, OPTIONS)).getIds();
    for (let i = 0; i < ids.length; i++) sum += ids[i];
    count += ids.length;
  }
  return { checksum: sum, tokens: count };
}

// `encodeBatch` over chunks of documents: HF parallelises each chunk on its own rayon pool.
async function batchPass(tok, docs, batch) {
  let sum = 0, count = 0;
  for (let start = 0; start < docs.length; start += batch) {
    const encodings = await tok.encodeBatch(docs.slice(start, start + batch), OPTIONS);
    for (const e of encodings) {
      const ids = e.getIds();
      for (let i = 0; i < ids.length; i++) sum += ids[i];
      count += ids.length;
    }
  }
  return { checksum: sum, tokens: count };
}

// Whole passes until the time is up, so each pass's checksum can be compared with the warm-up's.
async function measureWarm(seconds, pass) {
  await pass();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let passes = 0, last, elapsed;
  do {
    last = await pass();
    passes++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (elapsed < seconds);
  return { passes, seconds: elapsed, cpu: cpuSeconds(process.cpuUsage(c0)), ...last };
}

// Processor time of the whole process (all threads, rayon's included), as jiniac-bench's cpu_s.
function cpuSeconds(usage) { return (usage.user + usage.system) / 1e6; }

// Each pass on a freshly loaded tokenizer (its BPE cache empty); only the passes are timed, until they add up
// to the time (at most 20 passes), exactly as jiniac-bench's cold mode.
async function measureCold(seconds, create, pass) {
  let timed = 0, cpu = 0, passes = 0, last;
  do {
    const tok = create();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    last = await pass(tok);
    timed += Number(process.hrtime.bigint() - t0) / 1e9;
    cpu += cpuSeconds(process.cpuUsage(c0));
    passes++;
  } while (timed < seconds && passes < 20);
  return { passes, seconds: timed, cpu, ...last };
}

function report(mode, threads, m, bytes, warm) {
  if (m.checksum !== warm.checksum || m.tokens !== warm.tokens) {
    throw new Error(`${mode}: a pass gave ${m.checksum}/${m.tokens}, the warm-up ${warm.checksum}/${warm.tokens}`);
  }
  const mbs = (bytes * m.passes / m.seconds / 1e6).toFixed(2);
  const tps = (warm.tokens * m.passes / m.seconds).toFixed(0);
  console.log(`RESULT impl=hf mode=${mode} threads=${threads} mb_s=${mbs} tokens_s=${tps} checksum=${warm.checksum} ` +
    `tokens=${warm.tokens} bytes=${bytes} passes=${m.passes} seconds=${m.seconds.toFixed(2)} cpu_s=${m.cpu.toFixed(2)} ` +
    `cpu_mb_s=${(bytes * m.passes / m.cpu / 1e6).toFixed(2)}`);
}

(async () => {
  const a = parseArgs(process.argv.slice(2));
  const t0 = process.hrtime.bigint();
  const tok = Tokenizer.fromFile(a.tokenizer);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const text = fs.readFileSync(a.text, 'utf8').replaceAll('\r\n', '\n');
  const docs = text.split(a.split === 'lines' ? '\n' : '\n\n').filter((d) => d.length > 0);
  let bytes = 0;
  for (const d of docs) bytes += Buffer.byteLength(d, 'utf8');
  const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  // rayon (HF's thread pool for encodeBatch) uses RAYON_NUM_THREADS, else one thread per logical core.
  const rayon = process.env.RAYON_NUM_THREADS ? Number(process.env.RAYON_NUM_THREADS) : cores;
  console.log(`hf: tokenizer loaded in ${loadMs.toFixed(0)} ms; ${docs.length} documents, ${(bytes / 1e6).toFixed(3)} MB; ` +
    `${cores} cores; encodeBatch chunk ${a.batch}, rayon threads ${rayon}`);

  if (a.idsOut) {
    const lines = [];
    for (const d of docs.slice(0, 200)) lines.push(JSON.stringify((await tok.encode(d, null, OPTIONS)).getIds()));
    fs.writeFileSync(a.idsOut, lines.map((l) => l + '\n').join(''));
  }

  // The Rust throughput is encodeBatch's: one Node call per chunk of documents, run on HF's own rayon pool
  // (RAYON_NUM_THREADS=1 for one core). Per-document `encode` pays a promise and a thread-pool hop each call.
  const batch = (t) => batchPass(t, docs, a.batch);
  const warm = await batch(tok);
  for (const mode of a.modes.split(',')) {
    if (mode === 'cold') report('cold', rayon, await measureCold(a.seconds, () => Tokenizer.fromFile(a.tokenizer), batch), bytes, warm);
    else if (mode === 'warm') report('warm', rayon, await measureWarm(a.seconds, () => batch(tok)), bytes, warm);
    else if (mode === 'encode') report('encode', 1, await measureWarm(a.seconds, () => singlePass(tok, docs)), bytes, warm);
    else throw new Error(`--modes: unknown mode ${mode} (cold, warm, encode)`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
