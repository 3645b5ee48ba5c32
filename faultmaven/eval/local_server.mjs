// A small OpenAI-compatible chat server over node-llama-cpp (prebuilt llama.cpp, no compile), for
// `make eval-local`: FaultMaven's `openai` provider with a base URL talks to it as to llama.cpp's server.
//
// Tools are offered the way llama.cpp's generic tool format does: their JSON schemas go into the system
// prompt and a reply that is one JSON object {"name", "arguments"} is returned as a tool call. Replies
// stop at `max_tokens` (or --max-tokens) with `finish_reason: "length"`, as a capped server does.
//
//   node local_server.mjs --model SmolLM2-135M-Instruct.Q4_1.gguf --port 8091 --threads 2 --max-tokens 256

import http from "node:http";
import { parseArgs } from "node:util";
import { getLlama, LlamaChatSession } from "node-llama-cpp";

const { values: options } = parseArgs({
  options: {
    model: { type: "string" },
    port: { type: "string", default: "8091" },
    threads: { type: "string", default: "2" },
    "max-tokens": { type: "string", default: "256" },
    "context-size": { type: "string", default: "4096" },
  },
});
const threads = Number(options.threads);
const llama = await getLlama({ gpu: false, maxThreads: threads });
const model = await llama.loadModel({ modelPath: options.model });
const context = await model.createContext({ contextSize: Number(options["context-size"]), threads });
const sequence = context.getSequence();
let queue = Promise.resolve();

function text(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => part.text ?? "").join("");
  return "";
}

function toolPrompt(tools) {
  if (!tools?.length) return "";
  const listed = tools.map((tool) => JSON.stringify(tool.function)).join("\n");
  return "\n\nYou can call one of these tools by answering with only a JSON object "
    + '{"name": <tool name>, "arguments": {...}}:\n' + listed;
}

function history(messages, tools) {
  const items = [];
  for (const message of messages) {
    if (message.role === "system" || message.role === "developer") {
      items.push({ type: "system", text: text(message.content) + toolPrompt(tools) });
    } else if (message.role === "user") {
      items.push({ type: "user", text: text(message.content) });
    } else if (message.role === "tool") {
      items.push({ type: "user", text: `Tool result:\n${text(message.content)}` });
    } else if (message.role === "assistant") {
      const calls = (message.tool_calls ?? []).map((call) => JSON.stringify(
        { name: call.function.name, arguments: JSON.parse(call.function.arguments || "{}") }));
      items.push({ type: "model", response: [text(message.content) || calls.join("\n")] });
    }
  }
  return items;
}

function toolCall(reply, tools) {
  if (!tools?.length) return null;
  const trimmed = reply.trim().replace(/^```(?:json)?\s*/, "").replace(/\s*```$/, "");
  if (!trimmed.startsWith("{")) return null;
  try {
    const value = JSON.parse(trimmed);
    if (typeof value.name !== "string") return null;
    return { id: `call_${Date.now()}`, type: "function",
      function: { name: value.name, arguments: JSON.stringify(value.arguments ?? {}) } };
  } catch {
    return null;
  }
}

async function complete(body) {
  const items = history(body.messages ?? [], body.tools);
  const last = items.pop();
  const prompt = last?.type === "user" ? last.text : "";
  if (last && last.type !== "user") items.push(last);
  const session = new LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: false });
  try {
    session.setChatHistory(items);
    const maxTokens = body.max_tokens ?? body.max_completion_tokens ?? Number(options["max-tokens"]);
    const result = await session.promptWithMeta(prompt, { maxTokens, temperature: 0 });
    const reply = result.responseText ?? result.response.filter((part) => typeof part === "string").join("");
    const call = toolCall(reply, body.tools);
    const promptText = items.map((item) => item.text ?? item.response?.join("") ?? "").join("\n") + prompt;
    const usage = { prompt_tokens: model.tokenize(promptText).length, completion_tokens: model.tokenize(reply).length };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const finish = result.stopReason === "maxTokens" ? "length" : call ? "tool_calls" : "stop";
    const message = call ? { role: "assistant", content: null, tool_calls: [call] } : { role: "assistant", content: reply };
    return { id: `chatcmpl-${Date.now()}`, object: "chat.completion", created: Math.floor(Date.now() / 1000),
      model: body.model, choices: [{ index: 0, message, finish_reason: finish }], usage };
  } finally {
    session.dispose({ disposeSequence: false });
    sequence.clearHistory();
  }
}

function send(response, status, payload) {
  const data = JSON.stringify(payload);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  response.end(data);
}

function sendStream(response, completion) {
  const choice = completion.choices[0];
  response.writeHead(200, { "content-type": "text/event-stream" });
  const chunk = { ...completion, object: "chat.completion.chunk",
    choices: [{ index: 0, delta: choice.message, finish_reason: choice.finish_reason }] };
  response.write(`data: ${JSON.stringify(chunk)}\n\n`);
  response.write(`data: ${JSON.stringify({ ...chunk, choices: [], usage: completion.usage })}\n\n`);
  response.end("data: [DONE]\n\n");
}

http.createServer((request, response) => {
  if (request.method === "GET" && request.url.endsWith("/models")) {
    send(response, 200, { object: "list", data: [{ id: "local", object: "model", owned_by: "local" }] });
    return;
  }
  if (request.method !== "POST" || !request.url.endsWith("/chat/completions")) {
    send(response, 404, { error: { message: "not found" } });
    return;
  }
  let raw = "";
  request.on("data", (chunk) => { raw += chunk; });
  request.on("end", () => {
    queue = queue.then(async () => {
      try {
        const body = JSON.parse(raw);
        const completion = await complete(body);
        if (body.stream) sendStream(response, completion); else send(response, 200, completion);
      } catch (error) {
        send(response, 500, { error: { message: String(error?.message ?? error) } });
      }
    });
  });
}).listen(Number(options.port), "127.0.0.1", () => {
  console.log(`local model server on http://127.0.0.1:${options.port}/v1 (${threads} threads)`);
});
