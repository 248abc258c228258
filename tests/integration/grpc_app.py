"""A gRPC server for the gateway's tests, with generic handlers (no
generated code; messages are raw bytes):

  /test.Echo/Unary    answers the request bytes; initial metadata
                      `x-instance` and trailing metadata `x-served-by`
                      name the instance
  /test.Echo/Stream   server-streaming: the request is a count N, the
                      answer N messages "<instance>:<i>"
  /test.Echo/Drip     server-streaming: the request is "N,MS", the answer
                      N messages "<instance>:<i>", MS milliseconds apart
                      (the first at once): "2,5000" is one message and
                      then a stall
  /test.Echo/Sleep    sleeps the request's milliseconds, then answers
  /test.Echo/Fail     aborts with NOT_FOUND and a message

    python3 grpc_app.py --port PORT --name NAME
"""

import argparse
import time
from concurrent import futures

import grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="grpc")
    args = parser.parse_args()
    name = args.name

    def unary(request, context):
        context.send_initial_metadata((("x-instance", name),))
        context.set_trailing_metadata((("x-served-by", name),))
        return request

    def stream(request, context):
        for i in range(int(request.decode() or "0")):
            yield f"{name}:{i}".encode()

    def drip(request, context):
        count, gap = (int(x) for x in request.decode().split(","))
        for i in range(count):
            if i > 0:
                time.sleep(gap / 1000)
            if not context.is_active():
                return
            yield f"{name}:{i}".encode()

    def sleep(request, context):
        time.sleep(int(request.decode()) / 1000)
        return name.encode()

    def fail(request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")

    handler = grpc.method_handlers_generic_handler("test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Drip": grpc.unary_stream_rpc_method_handler(drip),
        "Sleep": grpc.unary_unary_rpc_method_handler(sleep),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
