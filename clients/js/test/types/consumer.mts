// Compiled by the packaging test with tsc (strict, module nodenext): the ES module view of the types.
import {
  AuthError,
  Client,
  ClientAck,
  ConnectionFailed,
  KspsError,
  ServerErrorReply,
  type AckResponse,
  type ClientOptions,
  type HistoryPage,
  type Message,
  type StreamPosition,
  type SubscriptionInfo,
} from "ksps";

const options: ClientOptions = {
  Address: "localhost:9313",
  Path: "/ws/newPath",
  Secure: false,
  Autorestart: true,
  OfflineQueuePolicy: "drop_oldest",
  OnId: (message: Message) => console.log(message.from, message.data),
  OnDisconnect: (code: number | null, reason: string | null) => console.log(code, reason),
  OnError: (error: KspsError) => {
    if (error instanceof ServerErrorReply) console.log(error.code, error.topic, error.rid);
    if (error instanceof AuthError) console.log(error.code.toFixed());
  },
  Token: "header.payload.signature",
  GetToken: async () => "header.payload.signature",
  OnSubscribed: (topic: string, info: SubscriptionInfo) => {
    const at: StreamPosition | undefined = info.position;
    console.log(topic, at?.offset.toFixed(), at?.epoch.length, info.recovering, info.recovered);
  },
};

export async function history(client: Client): Promise<number | undefined> {
  const page: HistoryPage = await client.History("chat", { limit: 10, reverse: true });
  const newest: Message | undefined = page.publications[0];
  const since: StreamPosition = { offset: page.offset, epoch: page.epoch };
  await client.Subscribe("chat", (message) => console.log(message.offset?.toFixed()), { since, joinLeave: false });
  await client.history("chat", { since });
  // @ts-expect-error -- a position has an epoch
  client.History("chat", { since: { offset: 1 } });
  // @ts-expect-error -- limit is a number
  client.History("chat", { limit: "10" });
  const position: StreamPosition | undefined = client.Position("chat") ?? client.position("other");
  return newest?.offset ?? position?.offset;
}

export async function example(): Promise<Record<string, AckResponse>> {
  const client: Client = await Client.NewClient(options);
  const unsub: () => void = client.Subscribe("events", (message, unsubscribe) => {
    const payload: unknown = message.data;
    console.log(payload, message.from);
    unsubscribe();
  });
  unsub();
  const confirmed: () => void = await client.Subscribe("checked", () => {});
  confirmed();
  client.on("disconnect", (code, reason) => console.log(code?.toFixed(), reason?.length));
  const ack: ClientAck = client.PublishWithAck("events", "From TS!", 3000);
  const any = await ack.WaitAny();
  const first: AckResponse | null = any.response;
  console.log(first?.client_id, any.success, await ack.GetStatus(), await ack.IsComplete());
  ack.Cancel();
  // @ts-expect-error -- timeouts are numbers of ms
  client.PublishWithAck("events", 1, "3s");
  if (ack instanceof ClientAck && !(new ConnectionFailed("x") instanceof KspsError)) {
    throw new Error("unreachable");
  }
  return client.publishWithAck("events", 1).wait();
}
