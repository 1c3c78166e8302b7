"""Loaded by every Python process started with this folder on PYTHONPATH (the robustness suite's
tool runs): any attempt to resolve a name or open a connection is written to the file named by
``MM_SSL_NETWORK_LOG`` and refused, so a test can assert that a tool never touches the network."""
import os
import socket
import traceback

_LOG = os.environ.get('MM_SSL_NETWORK_LOG')


def _refuse(what):
    def refused(*args, **kwargs):
        with open(_LOG, 'a') as log:
            log.write(f'{what}{args[1:] if what.startswith("socket.") else args}\n'
                      f'{"".join(traceback.format_stack(limit=6))}\n')
        raise OSError(f'{what}: network access is disabled in this test')
    return refused


if _LOG:
    socket.socket.connect = _refuse('socket.connect')
    socket.socket.connect_ex = _refuse('socket.connect_ex')
    socket.create_connection = _refuse('create_connection')
    socket.getaddrinfo = _refuse('getaddrinfo')
