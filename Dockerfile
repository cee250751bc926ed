# A small image that runs the app as a non-root user (uid 1000) on port 7860; the Hugging Face
# Space builds it (README front matter: sdk: docker). It installs what `make setup` installs:
# packages.txt and npm from Debian, torch pinned, requirements.txt and (with --no-deps)
# requirements-nodeps.txt into .venv, and
# three.js for the in-page viewer from npm.
FROM python:3.11-slim-bookworm

COPY packages.txt /tmp/packages.txt
RUN apt-get update \
 && xargs -a /tmp/packages.txt apt-get install -y --no-install-recommends make npm \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 user
USER user
WORKDIR /home/user/app

# Dependencies first, so code changes reuse this layer (the package itself is installed editable:
# its source arrives with the next COPY).
COPY --chown=user requirements.txt requirements-nodeps.txt packages.txt Makefile pyproject.toml README.md ./
COPY --chown=user expressive_talker/ui/web/package.json expressive_talker/ui/web/package-lock.json expressive_talker/ui/web/
RUN make setup && rm -rf /home/user/.cache/pip /home/user/.npm

COPY --chown=user . .

ENV GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1
EXPOSE 7860
CMD [".venv/bin/python", "app.py"]
