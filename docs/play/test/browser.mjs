// What the browser tests share: the page served by its documented command, and headless Chromium.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const play = join(dirname(fileURLToPath(import.meta.url)), "..");

// `python build.py --serve --port 0` (it builds first): resolves to { base, server } once it serves.
export async function serve() {
  const python = process.env.PYTHON || "python3";
  const server = spawn(python, [join(play, "build.py"), "--serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const base = await new Promise((resolve, reject) => {
    let seen = "";
    server.stdout.on("data", (chunk) => {
      seen += chunk;
      const found = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(seen);
      if (found) resolve(found[1]);
    });
    server.on("exit", (code) => reject(new Error(`the server stopped (${code}) before serving:\n${seen}`)));
  });
  return { base, server };
}

// Debian's Chromium (or $CHROMIUM), headless, with nothing of its own reaching the network.
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-first-run"],
  });
}
