// Produces golden-ids.json: the ids Hugging Face tokenizers (npm tokenizers@0.23.2, Rust bindings) gives for
// every text of golden-texts.json under every variant of variants.json applied to a base tokenizer.json.
// Usage: node make-golden.js <base tokenizer.json> variants.json golden-texts.json [--add-special] [--decode] > out.json
//   --add-special: encode with addSpecialTokens true (the post-processor's BOS/EOS), else false.
//   --decode: write, per variant, the decoded text of each encoding (decode(ids, skipSpecialTokens false)) instead of ids.
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
(async () => {
  const base = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const variants = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const texts = JSON.parse(fs.readFileSync(process.argv[4], 'utf8'));
  const flags = process.argv.slice(5);
  const addSpecialTokens = flags.includes('--add-special');
  const decode = flags.includes('--decode');
  const out = {};
  for (const [name, patch] of Object.entries(variants)) {
    const json = JSON.parse(JSON.stringify(base));
    for (const [key, value] of Object.entries(patch)) {
      if (key === 'model_patch') Object.assign(json.model, value); else json[key] = value;
    }
    const tok = Tokenizer.fromString(JSON.stringify(json));
    out[name] = [];
    for (const t of texts) {
      const ids = (await tok.encode(t, null, { addSpecialTokens })).getIds();
      out[name].push(decode ? await tok.decode(ids, false) : ids);
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
})();
