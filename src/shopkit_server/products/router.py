"""HTTP routes of the products service."""

from fastapi import APIRouter

router = APIRouter(tags=["products"])
