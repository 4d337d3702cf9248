"""An in-process Flower runtime for fast tests: a Grid whose nodes run a ClientApp in this thread.

Flower's simulation engine needs Ray and its deployment runtime needs processes; both are tested
(tests/test_flower_simulation.py, tests/test_flower_readme.py). This Grid is what CI runs in
seconds: every message and every node's context goes through Flower's protobuf form on the way
(as over the network, so nothing that cannot travel gets through), a ClientApp that raises gives
the error reply Flower gives, and a reply that took longer than the timeout is lost, as if each
node ran in parallel with the others. Bytes per node and direction are counted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from uuid import uuid4

from flwr.app import Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID, ErrorCode
from flwr.common.serde import context_from_proto, context_to_proto, message_from_proto, message_to_proto
from flwr.serverapp import Grid
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity


class LocalGrid(Grid):
    """`num_nodes` nodes running `client_app`; node i has node_config partition-id = i.

    `node_config(i)` adds keys to node i's config. `offline` holds nodes that are registered but
    never answer. `seed` fixes the node ids (random 63-bit ids, as Flower draws them).
    """

    def __init__(self, client_app: ClientApp, num_nodes: int, *, run_config: dict | None = None,
                 node_config: Callable[[int], dict] | None = None, seed: int | None = None) -> None:
        draw = random.Random(seed)
        self._run = Run.create_empty(run_id=draw.getrandbits(63))
        # Flower stamps new messages with this process's task identity; run_simulation sets it the same way.
        TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = self._run.run_id, SUPERLINK_NODE_ID, 1
        self.client_app = client_app
        self.node_ids: list[int] = []
        self._contexts: dict[int, bytes] = {}
        for i in range(num_nodes):
            node = draw.getrandbits(63) | 1
            config = {"partition-id": i, "num-partitions": num_nodes} | (node_config(i) if node_config else {})
            context = Context(self._run.run_id, node, config, RecordDict(), dict(run_config or {}))
            self._contexts[node] = context_to_proto(context).SerializeToString()
            self.node_ids.append(node)
        self.offline: set[int] = set()
        self.bytes_down: dict[int, int] = {n: 0 for n in self.node_ids}
        self.bytes_up: dict[int, int] = {n: 0 for n in self.node_ids}
        self._replies: dict[str, tuple[Message, float]] = {}

    def context(self, node: int) -> Context:
        """A copy of node's context as it is now."""
        from flwr.proto.message_pb2 import Context as ProtoContext  # pylint: disable=E0611

        return context_from_proto(ProtoContext.FromString(self._contexts[node]))

    # --- Grid -------------------------------------------------------------------------------------

    def set_run(self, run: Run) -> None:
        self._run = run

    @property
    def run(self) -> Run:
        return self._run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.node_ids)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for message in messages:
            message.metadata.__dict__["_message_id"] = uuid4().hex
            ids.append(message.metadata.message_id)
            if message.metadata.dst_node_id not in self.offline:
                self._replies[message.metadata.message_id] = self._deliver(message)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(i)[0] for i in message_ids if i in self._replies]

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        ids = list(self.push_messages(messages))
        late = [i for i in ids if i in self._replies and timeout is not None and self._replies[i][1] > timeout]
        for i in late:
            del self._replies[i]
        return self.pull_messages(ids)

    # --- one node ---------------------------------------------------------------------------------

    def _deliver(self, message: Message) -> tuple[Message, float]:
        from flwr.proto.message_pb2 import Context as ProtoContext  # pylint: disable=E0611

        node = message.metadata.dst_node_id
        down = message_to_proto(message)
        self.bytes_down[node] += down.ByteSize()
        incoming = message_from_proto(down)
        context = context_from_proto(ProtoContext.FromString(self._contexts[node]))
        start = time.perf_counter()
        try:
            reply = self.client_app(incoming, context)
        except Exception as error:  # pylint: disable=broad-exception-caught
            # What Flower's runtimes send back; the node's context keeps its state from before.
            reason = f"{type(error)}:<'{error}'>"
            reply = Message(Error(code=ErrorCode.CLIENT_APP_RAISED_EXCEPTION, reason=reason), reply_to=incoming)
        else:
            self._contexts[node] = context_to_proto(context).SerializeToString()
        elapsed = time.perf_counter() - start
        up = message_to_proto(reply)
        self.bytes_up[node] += up.ByteSize()
        return message_from_proto(up), elapsed
