"""The yardstick: a minimal Flask app served the same way as RoamRenew."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, world!"
