const socket = new WebSocket('wss://example.com/socket');

socket.addEventListener('open', () => {
    console.log('Connexion ouverte');
    socket.send('Bonjour serveur!');
});

socket.addEventListener('message', (event) => {
    console.log('Message reçu:', event.data);
});

socket.addEventListener('close', (event) => {
    console.log('Connexion fermée:', event.code, event.reason);
});

socket.addEventListener('error', (error) => {
    console.error('Erreur WebSocket:', error);
});
