//! The wire format, version 1 (see docs/group-protocol.md).
//!
//! Every datagram is `header (32 bytes) | body | HMAC-SHA256 (32 bytes)`, all
//! integers little-endian; the tag covers header and body under the group key.

use alloc::string::String;
use alloc::vec::Vec;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::status::{JobNeed, Status};
use crate::{Addr, NodeId};

pub const MAGIC: [u8; 2] = *b"SG";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 32;
pub const TAG_LEN: usize = 32;
/// Datagrams stay below a typical LAN MTU.
pub const MAX_DATAGRAM: usize = 1400;
/// Longest node name carried in a status.
pub const MAX_NAME: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The group key: whoever holds it is a member.
#[derive(Clone)]
pub struct Key(pub [u8; 32]);

impl Key {
    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length")
    }

    /// HMAC-SHA256 of `data` under this key.
    pub fn tag(&self, data: &[u8]) -> [u8; 32] {
        let mut m = self.mac();
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// Constant-time check of `tag` over `data`.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut m = self.mac();
        m.update(data);
        m.verify_slice(tag).is_ok()
    }

    /// A key derived from this one for a purpose and context (used for the
    /// per-connection keys of job streams): HMAC(key, label || context).
    pub fn derive(&self, label: &[u8], context: &[u8]) -> Key {
        let mut m = self.mac();
        m.update(label);
        m.update(context);
        Key(m.finalize().into_bytes().into())
    }
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// Message kinds (header byte 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Announce = 1,
    Sync = 2,
    Ping = 3,
    Ack = 4,
    PingReq = 5,
    AllocRequest = 6,
    AllocReply = 7,
    AllocRelease = 8,
}

impl Kind {
    fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            1 => Kind::Announce,
            2 => Kind::Sync,
            3 => Kind::Ping,
            4 => Kind::Ack,
            5 => Kind::PingReq,
            6 => Kind::AllocRequest,
            7 => Kind::AllocReply,
            8 => Kind::AllocRelease,
            _ => return None,
        })
    }
}

/// The fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub sender: NodeId,
    pub incarnation: u32,
    /// Per-sender, strictly increasing (replay protection).
    pub seq: u64,
    /// Sender's clock, ms since the Unix epoch (replay protection).
    pub timestamp: u64,
}

/// A membership fact, spread by gossip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    Alive { id: NodeId, incarnation: u32, addr: Addr, status: Status },
    Suspect { id: NodeId, incarnation: u32 },
    Dead { id: NodeId, incarnation: u32 },
    Left { id: NodeId, incarnation: u32 },
}

impl Update {
    pub fn id(&self) -> NodeId {
        match self {
            Update::Alive { id, .. } | Update::Suspect { id, .. } | Update::Dead { id, .. } | Update::Left { id, .. } => *id,
        }
    }
}

/// Message bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Broadcast by a node looking for its group: its own Alive update;
    /// `want_view` while it has not received a view yet.
    Announce { me: Update, want_view: bool },
    /// A batch of updates: a welcome (view transfer), a death notice, a refutation.
    Sync { updates: Vec<Update> },
    /// Are you alive? `target` is the node the sender means (a stale address is ignored).
    Ping { probe: u32, target: NodeId, status: Status, updates: Vec<Update> },
    /// `target` is alive (answered directly, or relayed for an indirect probe).
    Ack { probe: u32, target: NodeId, status: Status, updates: Vec<Update> },
    /// Please probe `target` at `addr` for me.
    PingReq { probe: u32, target: NodeId, addr: Addr, updates: Vec<Update> },
    /// Would you take a job with these needs?
    AllocRequest { req: u32, need: JobNeed },
    /// `verdict` 0 = accept, otherwise a refusal code; the current status.
    AllocReply { req: u32, verdict: u8, status: Status },
    /// The requester chose another node: the slot held for `req` is free.
    AllocRelease { req: u32 },
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Announce { .. } => Kind::Announce,
            Body::Sync { .. } => Kind::Sync,
            Body::Ping { .. } => Kind::Ping,
            Body::Ack { .. } => Kind::Ack,
            Body::PingReq { .. } => Kind::PingReq,
            Body::AllocRequest { .. } => Kind::AllocRequest,
            Body::AllocReply { .. } => Kind::AllocReply,
            Body::AllocRelease { .. } => Kind::AllocRelease,
        }
    }
}

/// Why a datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    TooShort,
    BadMagic,
    /// A version this node does not speak.
    Version(u8),
    /// The HMAC does not match: the sender does not hold the group key.
    BadTag,
    Malformed,
}

/// Little-endian writer.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v)
    }
    pub fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes())
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes())
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes())
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Little-endian reader; every getter fails cleanly at the end.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Malformed)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Malformed)?;
        self.pos = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub fn done(&self) -> bool {
        self.pos == self.buf.len()
    }
}

fn put_addr(w: &mut Writer, a: Addr) {
    w.bytes(&a.ip);
    w.u16(a.port);
}

fn get_addr(r: &mut Reader) -> Result<Addr, DecodeError> {
    let ip: [u8; 4] = r.take(4)?.try_into().unwrap();
    Ok(Addr { ip, port: r.u16()? })
}

/// Status block: 28 bytes + name (u8 length, at most 32 bytes).
pub fn put_status(w: &mut Writer, s: &Status) {
    w.u32(s.version);
    w.u16(s.cpu_load);
    w.u16(s.ncpus);
    w.u32(s.cpu_speed);
    w.u32(s.free_mem_mib);
    w.u32(s.total_mem_mib);
    w.u32(s.net_mbps);
    w.u16(s.jobs);
    w.u8(s.accepting as u8 | (s.workstation as u8) << 1);
    w.u8(0);
    let name = truncate_name(&s.name);
    w.u8(name.len() as u8);
    w.bytes(name.as_bytes());
}

fn truncate_name(n: &str) -> &str {
    if n.len() <= MAX_NAME {
        return n;
    }
    let mut end = MAX_NAME;
    while !n.is_char_boundary(end) {
        end -= 1;
    }
    &n[..end]
}

pub fn get_status(r: &mut Reader) -> Result<Status, DecodeError> {
    let version = r.u32()?;
    let cpu_load = r.u16()?;
    let ncpus = r.u16()?;
    let cpu_speed = r.u32()?;
    let free_mem_mib = r.u32()?;
    let total_mem_mib = r.u32()?;
    let net_mbps = r.u32()?;
    let jobs = r.u16()?;
    let flags = r.u8()?;
    let _reserved = r.u8()?;
    let n = r.u8()? as usize;
    if n > MAX_NAME {
        return Err(DecodeError::Malformed);
    }
    let name = core::str::from_utf8(r.take(n)?).map_err(|_| DecodeError::Malformed)?;
    Ok(Status {
        version,
        cpu_load,
        ncpus,
        cpu_speed,
        free_mem_mib,
        total_mem_mib,
        net_mbps,
        jobs,
        accepting: flags & 1 != 0,
        workstation: flags & 2 != 0,
        name: String::from(name),
    })
}

pub fn put_update(w: &mut Writer, u: &Update) {
    match u {
        Update::Alive { id, incarnation, addr, status } => {
            w.u8(1);
            w.u64(id.0);
            w.u32(*incarnation);
            put_addr(w, *addr);
            put_status(w, status);
        }
        Update::Suspect { id, incarnation } => {
            w.u8(2);
            w.u64(id.0);
            w.u32(*incarnation);
        }
        Update::Dead { id, incarnation } => {
            w.u8(3);
            w.u64(id.0);
            w.u32(*incarnation);
        }
        Update::Left { id, incarnation } => {
            w.u8(4);
            w.u64(id.0);
            w.u32(*incarnation);
        }
    }
}

/// Encoded size of an update (to fill datagrams up to `MAX_DATAGRAM`).
pub fn update_len(u: &Update) -> usize {
    match u {
        Update::Alive { status, .. } => 13 + 6 + 29 + truncate_name(&status.name).len(),
        _ => 13,
    }
}

pub fn get_update(r: &mut Reader) -> Result<Update, DecodeError> {
    let kind = r.u8()?;
    let id = NodeId(r.u64()?);
    let incarnation = r.u32()?;
    Ok(match kind {
        1 => {
            let addr = get_addr(r)?;
            Update::Alive { id, incarnation, addr, status: get_status(r)? }
        }
        2 => Update::Suspect { id, incarnation },
        3 => Update::Dead { id, incarnation },
        4 => Update::Left { id, incarnation },
        _ => return Err(DecodeError::Malformed),
    })
}

fn put_updates(w: &mut Writer, us: &[Update]) {
    w.u8(us.len() as u8);
    for u in us {
        put_update(w, u);
    }
}

fn get_updates(r: &mut Reader) -> Result<Vec<Update>, DecodeError> {
    let n = r.u8()? as usize;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(get_update(r)?);
    }
    Ok(v)
}

fn put_body(w: &mut Writer, b: &Body) {
    match b {
        Body::Announce { me, want_view } => {
            w.u8(*want_view as u8);
            put_update(w, me)
        }
        Body::Sync { updates } => put_updates(w, updates),
        Body::Ping { probe, target, status, updates } | Body::Ack { probe, target, status, updates } => {
            w.u32(*probe);
            w.u64(target.0);
            put_status(w, status);
            put_updates(w, updates);
        }
        Body::PingReq { probe, target, addr, updates } => {
            w.u32(*probe);
            w.u64(target.0);
            put_addr(w, *addr);
            put_updates(w, updates);
        }
        Body::AllocRequest { req, need } => {
            w.u32(*req);
            w.u32(need.mem_mib);
            w.u16(need.cpus);
        }
        Body::AllocReply { req, verdict, status } => {
            w.u32(*req);
            w.u8(*verdict);
            put_status(w, status);
        }
        Body::AllocRelease { req } => w.u32(*req),
    }
}

fn get_body(kind: Kind, r: &mut Reader) -> Result<Body, DecodeError> {
    Ok(match kind {
        Kind::Announce => {
            let want_view = r.u8()? & 1 != 0;
            Body::Announce { me: get_update(r)?, want_view }
        }
        Kind::Sync => Body::Sync { updates: get_updates(r)? },
        Kind::Ping | Kind::Ack => {
            let probe = r.u32()?;
            let target = NodeId(r.u64()?);
            let status = get_status(r)?;
            let updates = get_updates(r)?;
            if kind == Kind::Ping {
                Body::Ping { probe, target, status, updates }
            } else {
                Body::Ack { probe, target, status, updates }
            }
        }
        Kind::PingReq => {
            let probe = r.u32()?;
            let target = NodeId(r.u64()?);
            let addr = get_addr(r)?;
            Body::PingReq { probe, target, addr, updates: get_updates(r)? }
        }
        Kind::AllocRequest => Body::AllocRequest { req: r.u32()?, need: JobNeed { mem_mib: r.u32()?, cpus: r.u16()? } },
        Kind::AllocReply => Body::AllocReply { req: r.u32()?, verdict: r.u8()?, status: get_status(r)? },
        Kind::AllocRelease => Body::AllocRelease { req: r.u32()? },
    })
}

/// Encoded length of a body.
pub fn body_len(b: &Body) -> usize {
    let mut w = Writer(Vec::with_capacity(128));
    put_body(&mut w, b);
    w.len()
}

/// Encodes and signs a datagram.
pub fn seal(key: &Key, h: &Header, body: &Body) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(256));
    w.bytes(&MAGIC);
    w.u8(VERSION);
    w.u8(h.kind as u8);
    w.u64(h.sender.0);
    w.u32(h.incarnation);
    w.u64(h.seq);
    w.u64(h.timestamp);
    debug_assert_eq!(w.len(), HEADER_LEN);
    debug_assert_eq!(h.kind, body.kind());
    put_body(&mut w, body);
    let tag = key.tag(&w.0);
    w.bytes(&tag);
    w.0
}

/// Checks the tag first, then decodes. Nothing of an unauthenticated
/// datagram is looked at beyond magic and version.
pub fn open(key: &Key, data: &[u8]) -> Result<(Header, Body), DecodeError> {
    if data.len() < HEADER_LEN + TAG_LEN {
        return Err(DecodeError::TooShort);
    }
    if data[0..2] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if data[2] != VERSION {
        return Err(DecodeError::Version(data[2]));
    }
    let (signed, tag) = data.split_at(data.len() - TAG_LEN);
    if !key.verify(signed, tag) {
        return Err(DecodeError::BadTag);
    }
    let mut r = Reader::new(&signed[3..]);
    let kind = Kind::from_u8(r.u8()?).ok_or(DecodeError::Malformed)?;
    let sender = NodeId(r.u64()?);
    let incarnation = r.u32()?;
    let seq = r.u64()?;
    let timestamp = r.u64()?;
    let body = get_body(kind, &mut r)?;
    if !r.done() {
        return Err(DecodeError::Malformed);
    }
    Ok((Header { kind, sender, incarnation, seq, timestamp }, body))
}
