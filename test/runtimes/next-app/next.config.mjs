// Route handlers and a proxy only: no pages, fonts or images, so the build fetches nothing and
// there is nothing to turn off here. test/runtimes/nextjs.test.ts sets NEXT_TELEMETRY_DISABLED=1.
export default {};
