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
  type Message,
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
};

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
