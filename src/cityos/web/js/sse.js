/**
 * Server-Sent Events read with fetch(): EventSource cannot send an Authorization header,
 * and a key in the stream's URL would land in access logs. This is the parser of the
 * event-stream format (HTML standard, "9.2.6 Interpreting an event stream"); live.js owns
 * the connection and reconnects.
 */

/**
 * A parser fed text as it arrives, in chunks cut anywhere (mid-line, mid-CRLF).
 * @param {(type: string, data: string) => void} onEvent called once per complete event;
 *   type "message" when the event names none
 * @returns {{feed: (text: string) => void, retry: () => number|null}} retry: the last
 *   `retry:` the server sent (milliseconds), or null
 */
export function parser(onEvent) {
  let buffer = "";
  let type = "";
  let data = [];
  let retry = null;
  let skipLf = false; // the previous chunk ended with CR: a LF starting this one is its pair

  function line(text) {
    if (text === "") {
      if (data.length) onEvent(type || "message", data.join("\n"));
      type = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return; // a comment: heartbeats
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
    else if (field === "retry" && /^\d+$/.test(value)) retry = Number(value);
  }

  function feed(text) {
    if (skipLf && text.startsWith("\n")) text = text.slice(1);
    skipLf = false;
    buffer += text;
    let start = 0;
    for (let at = 0; at < buffer.length; at += 1) {
      const char = buffer[at];
      if (char !== "\n" && char !== "\r") continue;
      line(buffer.slice(start, at));
      if (char === "\r") {
        if (at + 1 === buffer.length) skipLf = true;
        else if (buffer[at + 1] === "\n") at += 1;
      }
      start = at + 1;
    }
    buffer = buffer.slice(start);
  }

  return { feed, retry: () => retry };
}
