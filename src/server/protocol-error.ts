/**
 * JSON-RPC error answers in the words this server has always used. SDK 1.x
 * led every error message with `MCP error <code>: `; 2.x's ProtocolError
 * sends the message as given, so the lead is written here.
 */
import { ProtocolError } from '@modelcontextprotocol/server';

/** A JSON-RPC error answer with `code` and a message led by `MCP error <code>: `. */
export function protocolError(code: number, message: string): ProtocolError {
  return new ProtocolError(code, `MCP error ${code}: ${message}`);
}
