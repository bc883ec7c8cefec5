// Advice 3: reconnect automatically, with exponential backoff, but not after a deliberate close.
const MAX_ATTEMPTS = 5;
let attempt = 0;

function connect() {
    attempt += 1;
    const socket = new WebSocket(url);

    socket.addEventListener('open', () => {
        console.log('Connexion ouverte, tentative', attempt);
        socket.send('Bonjour serveur!');
    });

    socket.addEventListener('close', (event) => {
        console.log('Connexion fermée:', event.code, event.reason);
        // 1008 (policy violation) and 4000-4999 (the application's own codes): the server meant it.
        if (event.code === 1008 || (event.code >= 4000 && event.code <= 4999)) {
            console.log('Fermeture voulue par le serveur: pas de reconnexion');
            return;
        }
        if (attempt >= MAX_ATTEMPTS) {
            console.log('Abandon après', attempt, 'tentatives');
            return;
        }
        // 500, 1000, 2000, 4000 ms before attempts 2 to 5 (the 8000 ms cap matters only with more),
        // each ±20 % at random (jitter): pages dropped by one crash do not all come back at once.
        const backoff = Math.min(8000, 250 * 2 ** attempt);
        const delay = Math.round(backoff * (0.8 + 0.4 * Math.random()));
        console.log('Reconnexion dans', delay, 'ms');
        setTimeout(connect, delay);
    });
}

connect();
