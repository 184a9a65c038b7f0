// bench_peer.mjs SECONDS (lives here for tests/oracle/node_modules) - the in-process alternative a user might write instead of
// nitrowallet: ethers v6 Wallet.signTransaction in one Node process, on the
// same kind of transaction `make bench` signs through the service (EIP-1559
// transfer, chain 31337).  Prints the loadgen JSON shape.
import { Wallet } from "ethers";

const seconds = Number(process.argv[2] || 5);
const wallet = Wallet.createRandom();
const lat = [];
let nonce = 0;
const start = performance.now();
const end = start + seconds * 1000;
for (;;) {
  const t0 = performance.now();
  if (t0 >= end) break;
  await wallet.signTransaction({
    type: 2, chainId: 31337, nonce: nonce++, gasLimit: 21000n, maxFeePerGas: 2000000000n,
    maxPriorityFeePerGas: 1000000000n, to: "0x1111111111111111111111111111111111111111",
    value: 1000000000000000000n, data: "0x",
  });
  lat.push(performance.now() - t0);
}
const elapsed = (performance.now() - start) / 1000;
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.floor((lat.length - 1) * p)] : 0);
console.log(JSON.stringify({
  ops: lat.length, errors: 0, seconds: elapsed, ops_per_s: lat.length / Math.min(elapsed, seconds),
  p50_ms: pct(0.5), p99_ms: pct(0.99), p999_ms: pct(0.999),
}));
