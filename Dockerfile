# syntax=docker/dockerfile:1
# okrbot: one static binary in an empty image, running as a non-root user.
# Build: docker build -t okrbot --build-arg VERSION=$(git describe --always) .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.Version=${VERSION}" \
      -o /out/okrbot ./cmd/okrbot

FROM scratch
# TLS roots for Slack and a TLS database; time zones are inside the binary.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/okrbot /okrbot
USER 65532:65532
ENV HTTP_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/okrbot", "healthcheck"]
ENTRYPOINT ["/okrbot"]
CMD ["run"]
