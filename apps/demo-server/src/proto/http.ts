import type { ServerResponse } from "node:http";
import { logResponseObject } from "@kaudit/middleware";
import { badRequest, StatusError } from "../status";
import { ProtobufError } from "./codec";
import { decodeKubeProtobuf, encodeKubeProtobuf, PROTOBUF_MEDIA_TYPE } from "./envelope";

/**
 * Decodes a kube protobuf request body. A field number the tables do not know is a 415 naming
 * the kind, the message and the field (the demo will not store an object with parts missing);
 * anything else malformed is a 400, as kube's decoder answers.
 */
export function decodeProtobufBody(buf: Buffer, expectedKind: string): Record<string, unknown> {
  try {
    return decodeKubeProtobuf(buf);
  } catch (e) {
    if (!(e instanceof ProtobufError)) throw e;
    if (e.unknownField)
      throw new StatusError(
        415,
        "UnsupportedMediaType",
        `the protobuf body cannot be decoded without loss: ${e.message}`,
        {
          kind: e.kind,
          causes: [
            {
              reason: "FieldValueNotSupported",
              // the error's text without its "Kind: path: " prefix
              message: e.message.startsWith(`${e.kind}: `)
                ? e.message.slice(`${e.kind}: ${e.path || "(object)"}: `.length)
                : e.message,
              field: e.path,
            },
          ],
        },
      );
    throw badRequest(
      `the object provided is unrecognized (must be of type ${expectedKind}): ${e.message}`,
    );
  }
}

/**
 * Sends `body` as kube protobuf (for clients that accept nothing else). The audit middleware only
 * reads JSON responses, so the object is handed to it as kube would log it. An object the tables
 * cannot express is a 500 Status, itself in protobuf.
 */
export function sendProtobuf(
  res: ServerResponse,
  code: number,
  body: Record<string, unknown>,
): void {
  let bytes: Uint8Array;
  try {
    bytes = encodeKubeProtobuf(body);
    if (res.req) logResponseObject(res.req, body);
  } catch (e) {
    if (!(e instanceof ProtobufError)) throw e;
    const err = new StatusError(
      500,
      "InternalError",
      `Internal error occurred: the object cannot be encoded as protobuf: ${e.message}`,
    );
    code = err.code;
    bytes = encodeKubeProtobuf(err.status as unknown as Record<string, unknown>);
    if (res.req) logResponseObject(res.req, err.status);
  }
  res.writeHead(code, {
    "Content-Type": PROTOBUF_MEDIA_TYPE,
    "Content-Length": bytes.length,
    "Cache-Control": "no-cache, private",
  });
  res.end(bytes);
}
