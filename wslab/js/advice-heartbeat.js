// Advice 2 (handle errors): notice a silent server. A page cannot send WebSocket pings, so it
// sends its own {"type":"ping"} and counts the server dead when no {"type":"pong"} comes back.
const EVERY = 1000;   // ms between two pings
const SILENCE = 2500; // ms without a pong: the server is gone

const socket = new WebSocket(url);
let lastPong = Date.now();
let timer = null;

socket.addEventListener('open', () => {
    console.log('Connexion ouverte');
    lastPong = Date.now();
    timer = setInterval(() => {
        if (Date.now() - lastPong > SILENCE) {
            console.log('Pas de pong depuis', SILENCE, 'ms: serveur muet, on ferme');
            clearInterval(timer);
            socket.close(4408, 'pas de pong');
            // Reconnect from here, not on 'close': a server that still answers closes at once,
            // but with a dead peer or network Chromium fires 'close' (1006) only ~60 s later.
            return;
        }
        socket.send(JSON.stringify({ type: 'ping' }));
    }, EVERY);
});

socket.addEventListener('message', (event) => {
    try {
        if (JSON.parse(event.data).type === 'pong') lastPong = Date.now();
    } catch (error) { /* not a pong */ }
});

socket.addEventListener('close', (event) => {
    clearInterval(timer);
    console.log('Connexion fermée:', event.code, event.reason);
});
