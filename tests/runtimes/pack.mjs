// Packs the package once (`npm pack`, without rebuilding: `npm test` built it just before) into
// .tmp/fc-invoke.tgz, the tarball every runtime test installs into a fresh consumer project.
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { root } from "./harness.mjs";

const TARBALL = join(root, ".tmp", "fc-invoke.tgz");

const dir = join(root, ".tmp");
mkdirSync(dir, { recursive: true });
rmSync(TARBALL, { force: true });
const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: root, encoding: "utf8" });
const [info] = JSON.parse(out);
renameSync(join(dir, info.filename), TARBALL);
console.log(`packed ${info.files.length} files, ${info.size} bytes → ${TARBALL}`);
for (const f of info.files) console.log(`  ${f.path} (${f.size} B)`);
