// Advice 1: validate what you receive. Parse inside try/catch, check the shape, and show the text
// with textContent (never innerHTML: a message is data, not markup).
const socket = new WebSocket(url);

function valid(data) {
    return data !== null && typeof data === 'object' && !Array.isArray(data) &&
        typeof data.type === 'string' &&
        (data.type !== 'chat' || (typeof data.from === 'string' && typeof data.text === 'string'));
}

socket.addEventListener('open', () => {
    socket.send('envoie');
});

socket.addEventListener('message', (event) => {
    let data;
    try {
        data = JSON.parse(event.data);
    } catch (error) {
        console.error('Message rejeté (JSON invalide):', event.data);
        return;
    }
    if (!valid(data)) {
        console.error('Message rejeté (forme inattendue):', event.data);
        return;
    }
    if (data.type === 'fin') {
        socket.close(1000, 'lu');
        return;
    }
    const line = document.createElement('div');
    line.textContent = `${data.from}: ${data.text}`; // shown as text, markup and all
    board.appendChild(line);
});
