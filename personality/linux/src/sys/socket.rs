//! Sockets: each handler names its operation and the socket family routes
//! it (AF_UNIX within the job in `process/unix.rs`, AF_INET through the
//! netstack in `process/net.rs`); i386 `socketcall` demultiplexes to them.

use super::{Args, Ctx};
use crate::process::Outcome;
use crate::socket::SocketOp;

fn op(cx: &mut Ctx, a: Args, op: SocketOp) -> Outcome {
    cx.process(|p, h| p.net_call(h, a.abi, op, a.raw))
}

pub fn socket(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::Socket)
}

pub fn bind(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::Bind)
}

pub fn connect(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::Connect)
}

pub fn listen(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::Listen)
}

pub fn accept(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::Accept)
}

pub fn accept4(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::Accept4)
}

pub fn sendto(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::SendTo)
}

pub fn recvfrom(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::RecvFrom)
}

pub fn shutdown(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::Shutdown)
}

pub fn getsockname(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::GetSockName)
}

pub fn getpeername(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::GetPeerName)
}

pub fn setsockopt(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::SetSockOpt)
}

pub fn getsockopt(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::GetSockOpt)
}

pub fn sendmsg(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::SendMsg)
}

pub fn recvmsg(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::RecvMsg)
}

pub fn sendmmsg(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::SendMmsg)
}

pub fn socketpair(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::SocketPair)
}

pub fn recvmmsg(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::RecvMmsg)
}

/// i386 `socketcall(call, args)`: the calls above through one entry.
pub fn socketcall(cx: &mut Ctx, a: Args) -> Outcome {
    op(cx, a, SocketOp::SocketCall)
}
