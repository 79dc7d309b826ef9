// Drives the official @huggingface/hub client against a hub: node hub-roundtrip.mjs <endpoint> <token> <repo> <ours-path>
// Creates <repo>, uploads three files in one commit (a regular README, a small LFS file by the basic transfer and a
// larger one the hub offers in parts), branches off the commit, lists and downloads them back, and downloads
// <ours-path> from main of acme/ours (a commit our own C# client made). Prints one JSON object with what it saw.
import { createHash } from "node:crypto";
import { createRepo, uploadFiles, createBranch, listFiles, downloadFile, whoAmI, fileDownloadInfo } from "@huggingface/hub";

const [hubUrl, accessToken, repo, oursPath] = process.argv.slice(2);
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const pattern = (length, seed) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) % 251);

const readme = new TextEncoder().encode("# uploaded by @huggingface/hub\n");
const small = pattern(5000, 7);
const large = pattern(200000, 11);

const me = await whoAmI({ accessToken, hubUrl });
const created = await createRepo({ repo, accessToken, hubUrl });
const commit = await uploadFiles({
  repo, accessToken, hubUrl, useXet: true,
  commitTitle: "Upload from the official client",
  files: [
    { path: "README.md", content: new Blob([readme]) },
    { path: "weights/small.safetensors", content: new Blob([small]) },
    { path: "weights/large.bin", content: new Blob([large]) },
  ],
});
await createBranch({ repo, accessToken, hubUrl, branch: "from-js", revision: commit.commit.oid });

const listed = [];
for await (const entry of listFiles({ repo, accessToken, hubUrl, revision: "from-js", recursive: true })) {
  listed.push({ path: entry.path, type: entry.type, size: entry.size, oid: entry.oid, lfs: entry.lfs?.oid ?? null });
}

const downloaded = {};
for (const path of ["README.md", "weights/small.safetensors", "weights/large.bin"]) {
  const blob = await downloadFile({ repo, path, revision: commit.commit.oid, accessToken, hubUrl });
  downloaded[path] = sha256(new Uint8Array(await blob.arrayBuffer()));
}

const oursBlob = await downloadFile({ repo: "acme/ours", path: oursPath, revision: "main", accessToken, hubUrl });
const missing = await fileDownloadInfo({ repo, path: "no/such/file", revision: "main", accessToken, hubUrl });

console.log(JSON.stringify({
  user: me.name,
  repoUrl: created.repoUrl,
  commit: commit.commit.oid,
  expected: { "README.md": sha256(readme), "weights/small.safetensors": sha256(small), "weights/large.bin": sha256(large) },
  downloaded,
  listed,
  ours: sha256(new Uint8Array(await oursBlob.arrayBuffer())),
  missing,
}));
