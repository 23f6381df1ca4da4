# syntax=docker/dockerfile:1
# One image per admsync service, from the go.work workspace:
#   docker build --build-arg SERVICE=syncer    -t admsync/syncer:dev .
#   docker build --build-arg SERVICE=importer  -t admsync/importer:dev .
#   docker build --build-arg SERVICE=admwriter -t admsync/admwriter:dev .
# VERSION is stamped into the binary (admsync_build_info, --help).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
ARG SERVICE
ARG VERSION=dev
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

# Module files first, so dependency downloads are cached until they change.
# One line per module of go.work (deploy/image_test.go checks it).
COPY go.work go.work.sum ./
COPY pkg/go.mod pkg/go.sum pkg/
COPY services/syncer/go.mod services/syncer/go.sum services/syncer/
COPY services/importer/go.mod services/importer/go.sum services/importer/
COPY services/admwriter/go.mod services/admwriter/go.sum services/admwriter/
COPY deploy/go.mod deploy/go.sum deploy/
COPY test/go.mod test/go.sum test/
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    case "${SERVICE}" in \
      syncer|importer|admwriter) ;; \
      *) echo "build with --build-arg SERVICE=syncer|importer|admwriter (got '${SERVICE}')" >&2; exit 2 ;; \
    esac && \
    go build -trimpath \
      -ldflags "-s -w -X admsync/pkg/observability.Version=${VERSION}" \
      -o /out/app ./services/${SERVICE}

# distroless static: no shell, no package manager; nonroot is uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG SERVICE
ARG VERSION=dev
LABEL org.opencontainers.image.title="admsync-${SERVICE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="admsync"
COPY --from=build /out/app /app
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/app"]
CMD ["serve"]
