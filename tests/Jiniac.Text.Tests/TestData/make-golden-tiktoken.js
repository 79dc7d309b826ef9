// Trims a tiktoken encoding of npm tiktoken@1.0.22 to its first N ranks, writes that as a .tiktoken file
// ("base64 rank" lines), and prints the ids tiktoken gives for every text of golden-texts.json with it
// (encode(text, "all"): special tokens recognised anywhere).
// Usage: node make-golden-tiktoken.js <tiktoken/encoders/NAME.json> N out.tiktoken golden-texts.json > golden.json
const { Tiktoken } = require('tiktoken/lite');
const fs = require('fs');
const enc = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const n = Number(process.argv[3]);
const texts = JSON.parse(fs.readFileSync(process.argv[5], 'utf8'));
// npm's bpe_ranks is compressed: "! OFFSET tok tok …" runs of consecutive ranks.
const lines = [];
for (const line of enc.bpe_ranks.split('\n')) {
  const parts = line.split(' ');
  if (parts[0] !== '!') { lines.push(line); continue; }
  const offset = Number(parts[1]);
  parts.slice(2).forEach((tok, i) => lines.push(`${tok} ${offset + i}`));
}
const kept = lines.filter((l) => l && Number(l.split(' ')[1]) < n);
const file = kept.join('\n') + '\n';
fs.writeFileSync(process.argv[4], file);
const tok = new Tiktoken(file, enc.special_tokens, enc.pat_str);
const out = texts.map((t) => Array.from(tok.encode(t, 'all')));
tok.free();
process.stdout.write(JSON.stringify({ ids: out }) + '\n');
