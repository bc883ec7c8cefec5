// wslab's browser client: the reference article's JavaScript client (or one of the advice scripts
// in wslab/js/advice-*.js), run in the notebook's own page. wslab/browser.py puts each script's code
// (the article's unchanged but for its URL) in SCRIPTS, at the marker. Every page event goes to the
// kernel (model.send) where it is recorded with side "browser".
// Nothing here writes HTML from data: every text goes through textContent.

// --- the scripts, verbatim; `url`, `WebSocket`, `console`, `board` and the timers are given ------
// (the timers are the page's own, counted so the kernel learns when the script has nothing left to do)
const SCRIPTS = {
/*SCRIPTS*/
};

// --- where the page can reach the kernel's server (see page_route() in wslab/browser.py) --------
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/;

// The notebook server's settings in the page (JupyterLab's PageConfig): baseUrl, and hub* keys
// when a JupyterHub serves it.
function pageConfig(doc) {
    const node = doc && doc.getElementById ? doc.getElementById("jupyter-config-data") : null;
    if (!node) return {};
    try { return JSON.parse(node.textContent) || {}; } catch (e) { return {}; }
}

// The addresses to try, in order: { targets: [{ via, url, probe }] } or { error }. The page knows
// its own origin: served from elsewhere than loopback, or by a hub, it is not on the kernel's
// machine and goes through the notebook server's proxy (jupyter-server-proxy, same origin, so the
// page's own cookies authenticate it); otherwise it goes direct, with the proxy as a fallback.
function pageTargets(route, where, config) {
    if (route.kind !== "direct" && route.kind !== "proxy") {
        return { error: route.why || "no route from this page to the kernel's server" };
    }
    let base = String(config.baseUrl || route.base || "/");
    if (!base.startsWith("/")) base = "/" + base;
    if (!base.endsWith("/")) base += "/";
    const remote = route.kind === "proxy" || !LOOPBACK.test(where.hostname) ||
        Boolean(config.hubPrefix || config.hubUser);
    const targets = [];
    if (!remote && route.url) targets.push({ via: "direct", url: route.url });
    if (route.proxy) {
        targets.push({
            via: "proxy",
            url: where.origin.replace(/^http/, "ws") + base + route.proxy,
            probe: where.origin + base + "server-proxy/servers-info", // answered by the proxy itself
            path: base + route.proxy,
            base,
        });
    }
    if (!targets.length) {
        return { error: `this page comes from ${where.host}, not from the kernel's machine, and ` +
            "has no proxy route to the kernel's server" };
    }
    return { targets };
}

// What the page says when the notebook server has no proxy (its probe answered 404).
function proxyMissing(base) {
    return `the notebook server has no proxy at ${base}proxy/ (404): install jupyter-server-proxy ` +
        "in the notebook server's environment (pip install jupyter-server-proxy; on JupyterHub, in " +
        "the single-user image), then restart that server";
}

// Opens the script's socket on each target in turn: a socket that fails before opening hands over
// to the next target, unseen by the script and the kernel; the last one's failure is probed so the
// page can say when the proxy is missing. `page.socket` is always the newest socket (set by its
// constructor); `page.nth` counts the script's sockets on the current route.
function startRoute(page, targets, open, show, status, report) {
    let rest = targets;
    let current = null;
    const attempt = () => {
        current = rest[0];
        page.via = current.via;
        page.nth = 0;
        rest = rest.slice(1);
        status("connecting");
        if (current.via === "proxy") show(`through the notebook server's proxy: ${current.path}`);
        try {
            open(current.url);
        } catch (e) { // e.g. a ws:// address refused by an https page
            if (rest.length) { show(`${current.via} route refused (${String(e)}): trying the ${rest[0].via}`); attempt(); return; }
            status("cannot connect");
            show("error  " + String(e));
            report({ ev: "unreachable", error: String(e) });
        }
    };
    // Called first by the socket's own error and close listeners: true when the event is handled here.
    page.failed = (socket, event) => {
        // only the script's first socket finds the route; its later ones (a reconnection) keep it
        if (socket !== page.socket || socket.n !== 1 || socket.opened || socket.byPage) return false;
        if (rest.length) {
            event.stopImmediatePropagation(); // the script never sees a route that did not work
            if (event.type === "close") { show(`the ${current.via} route failed: trying the ${rest[0].via}`); attempt(); }
            return true;
        }
        if (event.type === "error" && current.via === "proxy" && current.probe && !page.held) {
            page.held = []; // the error and close reports wait for the probe's answer
            const base = current.base;
            fetch(current.probe, { credentials: "same-origin" })
                .then((answer) => answer.status === 404, () => false)
                .then((missing) => {
                    const held = page.held || [];
                    page.held = null;
                    if (missing) {
                        status("cannot connect: no proxy");
                        show("error  " + proxyMissing(base));
                        report({ ev: "unreachable", error: proxyMissing(base) });
                    } else {
                        for (const [content, buffers] of held) report(content, buffers);
                    }
                });
        }
        return false;
    };
    attempt();
}

export { pageTargets, proxyMissing }; // for tests/test_browser.py, run under node

// --- one socket per widget per page, shared by every view of the widget ---------------------------
const pages = new Map(); // widget key -> page state
const QUIET = 300; // ms without traffic before a close asked from Python goes out

function describeArg(value) {
    if (typeof value === "string") return value;
    if (typeof Event !== "undefined" && value instanceof Event) return `[${value.constructor.name} ${value.type}]`;
    if (value instanceof ArrayBuffer) return `[ArrayBuffer ${value.byteLength} bytes]`;
    if (typeof Blob !== "undefined" && value instanceof Blob) return `[Blob ${value.size} bytes]`;
    return String(value);
}

// Text sent or received above this size is reported by its size and first characters only.
const REPORT_TEXT = 1000;

function reportText(data) {
    if (data.length <= REPORT_TEXT) return { text: data };
    return { text: data.slice(0, 200), size: new TextEncoder().encode(data).length, cut: true };
}

function startPage(model) {
    const page = {
        lines: [], status: "not connected", views: new Set(), socket: null, pending: [], active: 0,
        later: null, held: null, failed: () => false, nth: 0, live: new Set(), timers: new Set(),
        idle: false, gone: false, attempts: Math.max(1, Number(model.get("attempts")) || 1),
    };
    // where a script shows things (advice-validate.js); the newest view of the widget holds it
    page.board = typeof document.createElement === "function" ? document.createElement("div") : null;
    if (page.board) page.board.className = "wslab-browser-board";
    const report = (content, buffers) => {
        if (page.held && (content.ev === "error" || content.ev === "close")) { // see startRoute
            page.held.push([content, buffers]);
            return;
        }
        try { model.send(content, undefined, buffers); } catch (e) { /* comm gone */ }
    };
    const show = (line) => {
        if (page.lines.length >= 1000) return; // enough for a lesson: the kernel's table keeps the rest
        page.lines.push(line);
        for (const view of page.views) view();
    };
    const status = (text) => { page.status = text; for (const view of page.views) view(); };

    // The seed writes to console: its lines go to the real console, to this widget and to the kernel.
    const pageConsole = {
        log: (...args) => { globalThis.console.log(...args); const line = args.map(describeArg).join(" "); show("console.log  " + line); report({ ev: "console", level: "log", line }); },
        error: (...args) => { globalThis.console.error(...args); const line = args.map(describeArg).join(" "); show("console.error  " + line); report({ ev: "console", level: "error", line }); },
    };

    // The script has nothing left to do (no socket, no timer): the kernel may close the lab.
    page.checkIdle = () => {
        const idle = page.live.size === 0 && page.timers.size === 0 && page.nth > 0;
        if (idle && !page.idle) report({ ev: "idle" });
        page.idle = idle;
    };
    // The page's timers, counted (see checkIdle) and stopped for good once the widget is closed.
    const timers = {
        setTimeout: (fn, ms, ...args) => {
            const id = setTimeout(() => {
                page.timers.delete(id);
                if (!page.gone) fn(...args);
                page.checkIdle();
            }, ms);
            page.timers.add(id);
            return id;
        },
        clearTimeout: (id) => { clearTimeout(id); page.timers.delete(id); setTimeout(page.checkIdle, 0); },
        setInterval: (fn, ms, ...args) => {
            const id = setInterval(() => { if (page.gone) clearInterval(id); else fn(...args); }, ms);
            page.timers.add(id);
            return id;
        },
        clearInterval: (id) => { clearInterval(id); page.timers.delete(id); setTimeout(page.checkIdle, 0); },
    };

    // The page's own WebSocket, reporting each event before the script's listeners run. The
    // script's second socket (a reconnection) asks for <path>/2, its third <path>/3…: the kernel
    // knows each one's connection id in advance (wslab/browser.py claims them).
    class ReportingWebSocket extends WebSocket {
        constructor(address, protocols) {
            page.nth += 1;
            const n = page.nth;
            if (n > page.attempts || page.gone) {
                show(`not opened: this widget allows ${page.attempts} socket(s)`);
                report({ ev: "refused", why: `socket ${n} not opened: this widget allows ${page.attempts} socket(s)` });
                throw new Error(`wslab: this widget allows ${page.attempts} socket(s)`);
            }
            super(n === 1 ? address : `${address}/${n}`, protocols);
            this.n = n;
            this.opened = false;
            this.byPage = false;
            this.binaryType = "arraybuffer";
            page.socket = this;
            page.live.add(this);
            page.idle = false;
            if (n > 1) {
                status("connecting");
                show(`new WebSocket(url)  socket ${n}`);
                report({ ev: "connecting", n });
            }
            this.addEventListener("open", () => {
                this.opened = true;
                status("open");
                show("open");
                report({ ev: "open", via: page.via, n }); // "direct" or "proxy": the route that worked
                setTimeout(() => page.flush(), 0); // after the script's own open listener has run
            });
            this.addEventListener("message", (event) => {
                page.active = Date.now();
                if (typeof event.data === "string") {
                    show(`message  ${JSON.stringify(event.data)}`);
                    report({ ev: "message", n, ...reportText(event.data) });
                } else {
                    show(`message  [binary ${event.data.byteLength} bytes]`);
                    report({ ev: "message", binary: true, n }, [event.data]);
                }
            });
            this.addEventListener("close", (event) => {
                page.live.delete(this);
                if (page.failed(this, event)) return; // a route that did not work: the next one is tried
                status(`closed ${event.code}${event.reason ? " " + event.reason : ""}`);
                show(`close  code=${event.code} reason=${JSON.stringify(event.reason)} wasClean=${event.wasClean}`);
                report({ ev: "close", code: event.code, reason: event.reason, wasClean: event.wasClean, byPage: this.byPage, n });
                setTimeout(page.checkIdle, 0); // after the script's close listener (it may reconnect)
            });
            this.addEventListener("error", (event) => {
                if (page.failed(this, event)) return;
                const before = this.readyState === WebSocket.CLOSED && !this.opened;
                show("error  (a browser never says why: read the close event)");
                report({ ev: "error", beforeOpen: before, n });
            });
        }
        send(data) {
            page.active = Date.now();
            if (typeof data === "string") {
                show(data.length > REPORT_TEXT ? `send  [text ${data.length} characters]` : `send  ${JSON.stringify(data)}`);
                report({ ev: "send", n: this.n, ...reportText(data) });
            } else {
                report({ ev: "send", binary: true, n: this.n }, [data]);
            }
            super.send(data);
        }
        close(code, reason) {
            if (this.readyState === WebSocket.OPEN) {
                this.byPage = true;
                show(`close()  code=${code} reason=${JSON.stringify(reason || "")}`);
                report({ ev: "closing", code: code === undefined ? 1000 : code, reason: reason || "", n: this.n });
            } else if (this.readyState === WebSocket.CONNECTING) {
                this.byPage = true;
            }
            super.close(code, reason);
        }
    }

    const where = pageTargets(model.get("route"), window.location, pageConfig(document));
    if (where.error) {
        status("cannot connect");
        show("error  " + where.error);
        report({ ev: "unreachable", error: where.error });
    } else {
        const script = SCRIPTS[model.get("script")] || SCRIPTS.article;
        const run = (url) => script(url, ReportingWebSocket, pageConsole, page.board, timers.setTimeout,
            timers.clearTimeout, timers.setInterval, timers.clearInterval);
        startRoute(page, where.targets, run, show, status, report);
    }
    page.send = (text) => {
        if (!page.socket || page.socket.readyState !== WebSocket.OPEN) { show("not sent: the socket is not open"); report({ ev: "refused", text }); return; }
        page.socket.send(text);
    };
    page.close = (code, reason) => { if (page.socket) page.socket.close(code, reason); };
    // What Python asks for waits, in order, until the socket is open (a "Run All" asks early).
    // A close waits until the socket has been quiet for QUIET ms: a browser drops every message
    // that arrives after close(), so replies still on their way would be lost.
    page.flush = () => {
        while (page.pending.length && page.socket && page.socket.readyState === WebSocket.OPEN) {
            if (page.pending[0].do === "close" && Date.now() - page.active < QUIET) {
                clearTimeout(page.later);
                page.later = setTimeout(page.flush, QUIET);
                return;
            }
            const content = page.pending.shift();
            if (content.do === "send") page.send(String(content.text));
            else if (content.do === "close") page.close(content.code, content.reason);
        }
    };
    model.on("msg:custom", (content) => {
        page.pending.push(content);
        if (page.socket && page.socket.readyState === WebSocket.CONNECTING) return; // flushed on open
        page.flush();
        if (page.pending.length && !(page.socket && page.socket.readyState === WebSocket.OPEN)) {
            page.pending = [];
            show("not done: the socket is closed");
            report({ ev: "refused", text: String(content.text || "close") });
        }
    });
    return page;
}

export default {
    initialize({ model }) {
        const key = model.get("key");
        const page = startPage(model);
        pages.set(key, page);
        // the widget is closed (or the kernel restarted and the page forgot it): close the socket
        return () => {
            pages.delete(key);
            page.gone = true; // the script's timers stop, and it opens no other socket
            for (const socket of page.live) {
                if (socket.readyState > WebSocket.OPEN) continue;
                socket.byPage = true;
                socket.close(1000, "widget closed"); // a page may only send 1000 or 3000-4999
            }
        };
    },
    render({ model, el }) {
        const page = pages.get(model.get("key"));
        const box = document.createElement("div");
        box.className = "wslab-browser";
        box.style.cssText = "font-family: var(--jp-code-font-family, monospace); font-size: 12px; border: 1px solid #ccc; padding: 6px; max-width: 720px;";
        const title = document.createElement("div");
        title.style.fontWeight = "bold";
        const controls = document.createElement("div");
        controls.style.margin = "4px 0";
        const input = document.createElement("input");
        input.type = "text";
        input.value = model.get("draft");
        input.size = 40;
        const sendButton = document.createElement("button");
        sendButton.textContent = "Send";
        const closeButton = document.createElement("button");
        closeButton.textContent = "Close";
        controls.append(input, " ", sendButton, " ", closeButton);
        const log = document.createElement("ol");
        log.className = "wslab-browser-log";
        // room for three-digit line numbers (the log keeps up to 1000 lines)
        log.style.cssText = "margin: 4px 0; padding-left: 3.5em; max-height: 16em; overflow-y: auto;";
        box.append(title, controls, log);
        el.appendChild(box);
        if (!page) {
            title.textContent = `${model.get("endpoint")} → ${model.get("server")}: this page has no socket for it`;
            return;
        }
        const draw = () => {
            title.textContent = `${model.get("endpoint")} (this page) → ${model.get("server")}: ${page.status}`;
            while (log.children.length < page.lines.length) {
                const item = document.createElement("li");
                item.textContent = page.lines[log.children.length];
                log.appendChild(item);
            }
            log.scrollTop = log.scrollHeight;
        };
        sendButton.addEventListener("click", () => page.send(input.value));
        input.addEventListener("keydown", (event) => { if (event.key === "Enter") page.send(input.value); });
        closeButton.addEventListener("click", () => page.close(1000, "closed from the page"));
        if (page.board) {
            page.board.style.cssText = "margin-top: 4px;";
            box.appendChild(page.board);
        }
        page.views.add(draw);
        draw();
        return () => page.views.delete(draw);
    },
};
