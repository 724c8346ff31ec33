"""Placeholder blueprint; replaced by the work on its issue."""

from flask import Blueprint

bp = Blueprint("contributions", __name__)
