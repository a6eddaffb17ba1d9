"""A stand-in trace store for the forwarder tests: a real OTLP receiver — grpcio with the `TraceService` generated in
opentelemetry-proto, and an OTLP/HTTP handler — that records every span id it gets, with the request's tenant. It can
be stopped and started again on the same port (an outage), made to refuse (`fail_with`), and serve TLS (`tls`)."""

import ssl
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from conftest import free_port


class TraceStore:
    def __init__(self, tls=None):
        self.tls = tls  # (certificate file, key file): serve gRPC and HTTP over TLS
        self.grpc_port, self.http_port = free_port(), free_port()
        self.lock = threading.Lock()
        self.spans = {}  # span id (hex) -> tenant
        self.requests = 0
        self.fail_with = None  # a grpc.StatusCode (and HTTP 503) to answer instead of accepting
        self.grpc_server = self.http_server = None

    def record(self, request, tenant):
        with self.lock:
            self.requests += 1
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans[span.span_id.hex()] = tenant

    def span_ids(self, tenant=None):
        with self.lock:
            return {span for span, owner in self.spans.items() if tenant is None or owner == tenant}

    def start(self):
        store = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                if store.fail_with is not None:
                    context.abort(store.fail_with, "the store refuses for now")
                tenant = dict(context.invocation_metadata()).get("x-scope-orgid", "")
                store.record(request, tenant)
                return trace_service_pb2.ExportTraceServiceResponse()

        self.grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self.grpc_server)
        if self.tls:
            certificate, key = (open(path, "rb").read() for path in self.tls)
            credentials = grpc.ssl_server_credentials([(key, certificate)])
            self.grpc_server.add_secure_port(f"127.0.0.1:{self.grpc_port}", credentials)
        else:
            self.grpc_server.add_insecure_port(f"127.0.0.1:{self.grpc_port}")
        self.grpc_server.start()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if store.fail_with is not None:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                store.record(request, self.headers.get("X-Scope-OrgID", ""))
                # A length, not the end of the connection, ends the body: over TLS an end without close_notify could
                # be a cut.
                response = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(response)))
                self.end_headers()
                self.wfile.write(response)

            def log_message(self, *args):
                pass

        self.http_server = ThreadingHTTPServer(("127.0.0.1", self.http_port), Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self.http_server.socket = context.wrap_socket(self.http_server.socket, server_side=True)
        threading.Thread(target=self.http_server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.grpc_server:
            self.grpc_server.stop(grace=None).wait()
            self.grpc_server = None
        if self.http_server:
            self.http_server.shutdown()
            self.http_server.server_close()
            self.http_server = None

    def forwarder(self, name, backend="otlpgrpc", tls=None, **queue):
        """A `distributor.forwarders` entry sending to this store; `tls` is its `tls` block when the store serves
        TLS."""
        if backend == "otlpgrpc":
            endpoints = {"endpoints": [f"127.0.0.1:{self.grpc_port}"], "tls": tls or {"insecure": True}}
        else:
            scheme = "https" if self.tls else "http"
            endpoints = {"endpoints": [f"{scheme}://127.0.0.1:{self.http_port}/v1/traces"]}
            if tls:
                endpoints["tls"] = tls
        entry = {"name": name, "backend": backend, backend: endpoints}
        entry["timeout"] = "2s"
        if queue:
            entry["queue"] = queue
        return entry
