# One image for every shopkit service; the command picks which one runs.
#   docker build -t shopkit .
#   docker run -p 8000:8000 shopkit                      # all-in-one on SQLite
#   docker run -e SHOPKIT_JWT_SECRET_KEY=... shopkit shopkit serve --service cart --host 0.0.0.0
FROM python:3.12-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --extra server --no-install-project
COPY src ./src
COPY examples ./examples
RUN uv sync --locked --no-dev --extra server

FROM python:3.12-slim
RUN useradd --create-home --uid 10001 shopkit
WORKDIR /app
COPY --from=build --chown=shopkit:shopkit /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    SHOPKIT_DATABASE_URL="sqlite:////data/shopkit.db" \
    SHOPKIT_LOG_JSON=true
RUN mkdir /data && chown shopkit:shopkit /data
VOLUME ["/data"]
USER shopkit
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import sys,urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/health', timeout=2); sys.exit(0)"
CMD ["shopkit", "serve", "--host", "0.0.0.0", "--port", "8000"]
