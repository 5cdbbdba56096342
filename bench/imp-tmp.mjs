const t0 = performance.now();
await import(process.argv[2] ?? "fc-invoke");
const t1 = performance.now();
console.log("import", (t1 - t0).toFixed(2));
