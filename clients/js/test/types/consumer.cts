// Compiled by the packaging test with tsc (strict, module nodenext): the CommonJS view of the types.
import ksps = require("ksps");

export async function example(): Promise<void> {
  const client: ksps.Client = await ksps.NewClient({ Address: "localhost:9313" });
  client.publish("events", { from: "cjs" });
  const responses: Record<string, ksps.AckResponse> = await client.PublishToIDWithAck("other", 1).Wait();
  console.log(responses);
  await client.close();
}
