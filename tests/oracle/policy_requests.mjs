// policy_requests.mjs OUT_DIR NOW [SLACK] - signing requests for the example
// policies in docs/policies/, made with ethers v6 (calldata with
// Interface.encodeFunctionData, typed data with TypedDataEncoder.getPayload),
// not with nitrowallet's code.  Writes OUT_DIR/<case>.json and a manifest
// OUT_DIR/cases.tsv: policy, case, expected decision, expected rule.
// Deadlines "just past" the limit are SLACK seconds past it (default 1; a
// live enclave reads its own clock, a little after NOW).
import { writeFileSync } from "node:fs";
import { Interface, TypedDataEncoder, parseEther, MaxUint256 } from "ethers";

const [out, nowArg] = process.argv.slice(2);
const now = BigInt(nowArg);
const slack = BigInt(process.argv[4] ?? "1");
const cases = [];
const add = (policy, name, body, decision, rule) => {
  writeFileSync(`${out}/${name}.json`, JSON.stringify(body));
  cases.push([policy, name, decision, rule].join("\t"));
};

const A = "0x1111111111111111111111111111111111111111";
const C = "0x3333333333333333333333333333333333333333";
const OTHER = "0x5555555555555555555555555555555555555555";
const DRAINER = "0x4444444444444444444444444444444444444444";
const USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";
const ROUTER = "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD";
const PERMIT2 = "0x000000000022D473030F116dDEE9F6B43aC78BA3";
const WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2";

const tx = (fields) => ({ transaction: { type: 2, chainId: 1, nonce: 7, gas: 21000,
  maxFeePerGas: "30000000000", maxPriorityFeePerGas: "1000000000", value: "0", ...fields } });
const erc20 = new Interface(["function transfer(address,uint256)", "function approve(address,uint256)"]);
const router = new Interface(["function execute(bytes,bytes[],uint256)", "function execute(bytes,bytes[])",
  "function approve(address,uint256)"]);

// hot wallet: three addresses, 1 ETH each, chain 1, no calldata
add("hot-wallet", "hot_at_cap", tx({ to: A, value: parseEther("1").toString() }), "allow", "hot-pay");
add("hot-wallet", "hot_one_wei_over", tx({ to: A, value: (parseEther("1") + 1n).toString() }), "deny", "hot-pay");
add("hot-wallet", "hot_not_listed", tx({ to: OTHER, value: "1" }), "deny", "hot-pay");
add("hot-wallet", "hot_wrong_chain", tx({ to: A, value: "1", chainId: 5 }), "deny", "hot-pay");
add("hot-wallet", "hot_creation", tx({ data: "0x6080604052", gas: 100000 }), "deny", "hot-pay");
add("hot-wallet", "hot_calldata", tx({ to: A, gas: 60000, data: erc20.encodeFunctionData("transfer", [C, 1n]) }),
  "deny", "hot-pay");
add("hot-wallet", "hot_message", { message: "hello" }, "deny", "default");

// market maker: two router selectors, Permit2 for the router only
const exec3 = router.encodeFunctionData("execute(bytes,bytes[],uint256)", ["0x0b", ["0x1234"], now + 60n]);
const exec2 = router.encodeFunctionData("execute(bytes,bytes[])", ["0x0b", ["0x1234"]]);
add("market-maker", "mm_execute", tx({ to: ROUTER, gas: 300000, data: exec3 }), "allow", "router-execute");
add("market-maker", "mm_execute_no_deadline", tx({ to: ROUTER, gas: 300000, data: exec2 }), "allow", "router-execute");
add("market-maker", "mm_other_selector",
  tx({ to: ROUTER, gas: 60000, data: router.encodeFunctionData("approve", [C, 1n]) }), "deny", "router-execute");
add("market-maker", "mm_with_value", tx({ to: ROUTER, gas: 300000, data: exec3, value: "1" }), "deny", "router-execute");
add("market-maker", "mm_fee_over", tx({ to: ROUTER, gas: 2000000, data: exec3 }), "deny", "router-execute");
const p2types = {
  PermitDetails: [{ name: "token", type: "address" }, { name: "amount", type: "uint160" },
    { name: "expiration", type: "uint48" }, { name: "nonce", type: "uint48" }],
  PermitSingle: [{ name: "details", type: "PermitDetails" }, { name: "spender", type: "address" },
    { name: "sigDeadline", type: "uint256" }],
};
const p2domain = { name: "Permit2", chainId: 1, verifyingContract: PERMIT2 };
const single = (spender, deadline, domain = p2domain) => ({ typed_data: TypedDataEncoder.getPayload(domain, p2types, {
  details: { token: WETH, amount: 10n ** 18n, expiration: now + 86400n, nonce: 0 }, spender, sigDeadline: deadline }) });
add("market-maker", "mm_permit2", single(ROUTER, now + 1800n), "allow", "permit2-router");
add("market-maker", "mm_permit2_spender", single(C, now + 1800n), "deny", "permit2-router");
add("market-maker", "mm_permit2_far_deadline", single(ROUTER, now + 1800n + slack), "deny", "permit2-router");
add("market-maker", "mm_permit2_other_chain", single(ROUTER, now + 60n, { ...p2domain, chainId: 5 }), "deny",
  "permit2-router");
add("market-maker", "mm_other_domain",
  { typed_data: TypedDataEncoder.getPayload({ name: "Ether Mail", version: "1", chainId: 1, verifyingContract: C },
    { Mail: [{ name: "contents", type: "string" }] }, { contents: "hi" }) }, "deny", "permit2-router");
const tf = { typed_data: TypedDataEncoder.getPayload(p2domain, {
  TokenPermissions: [{ name: "token", type: "address" }, { name: "amount", type: "uint256" }],
  PermitTransferFrom: [{ name: "permitted", type: "TokenPermissions" }, { name: "spender", type: "address" },
    { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }] },
  { permitted: { token: WETH, amount: 1n }, spender: ROUTER, nonce: 1n, deadline: now + 60n }) };
add("market-maker", "mm_permit_transfer_from", tf, "deny", "permit2-router");

// payroll: USDC transfers to two recipients, 10,000 USDC each; messages up to 1 KiB; a deny rule
const usdc = (data) => tx({ to: USDC, gas: 65000, data });
add("payroll-token", "pay_at_cap", usdc(erc20.encodeFunctionData("transfer", [A, 10000n * 10n ** 6n])), "allow",
  "usdc-payroll");
add("payroll-token", "pay_one_over", usdc(erc20.encodeFunctionData("transfer", [A, 10000n * 10n ** 6n + 1n])), "deny",
  "usdc-payroll");
add("payroll-token", "pay_recipient", usdc(erc20.encodeFunctionData("transfer", [C, 1n])), "deny", "usdc-payroll");
add("payroll-token", "pay_unlimited_approve", usdc(erc20.encodeFunctionData("approve", [ROUTER, MaxUint256])), "deny",
  "usdc-payroll");
add("payroll-token", "pay_message", { message: "Sign in to example.com" }, "allow", "sign-in");
add("payroll-token", "pay_long_message", { message: "x".repeat(1025) }, "deny", "sign-in");
add("payroll-token", "pay_message_hex", { message_hex: "0x" + "ab".repeat(1024) }, "allow", "sign-in");
add("payroll-token", "pay_drainer", tx({ to: DRAINER, value: "1" }), "deny", "never-drainer");
add("payroll-token", "pay_digest", { digest: "0x" + "11".repeat(32) }, "deny", "default");

// treasury: nothing without approvals (the next issue adds them)
add("treasury", "treasury_tx", tx({ to: A, value: "1" }), "deny", "default");
add("treasury", "treasury_typed", single(ROUTER, now + 60n), "deny", "default");

writeFileSync(`${out}/cases.tsv`, cases.join("\n") + "\n");
