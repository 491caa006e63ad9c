"""Documents sent to the bot and returned translated.

- `flow`: accepts a file, queues it, relays progress, cancels on request.
- `delivery`: sends the translated file back, or says why there is none.
- `progress`: status messages with a progress bar and a Cancel button.
"""
