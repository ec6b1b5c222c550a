//! The netstack's event loop: device interrupts, timers and client requests.

use crate::hal::{self, NetHal};
use crate::nic::Nic;
use crate::lo::Lo;
use crate::sockets::{Nets, Service};
use alloc::collections::BTreeSet;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::ptr::NonNull;
use sion_abi::boot::cmdline_value;
use sion_abi::msg::{Header, Kind, NOTIFY_TIMER};
use sion_abi::net::{Request, NOTIFY_NET};
use sion_netstack::ether;
use sion_netstack::linklocal::{Action, LinkLocal};
use sion_netstack::neighbors::Neighbors;
use sion_rt as rt;
use smoltcp::iface::{Config, Interface, PollResult, SocketSet};
use smoltcp::socket::dhcpv4;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr};
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::pci::bus::{Cam, Command, MmioCam, PciRoot};
use virtio_drivers::transport::pci::{virtio_device_type, PciTransport};
use virtio_drivers::transport::{DeviceType, SomeTransport, Transport};

sion_rt::entry!(main);

/// Notification bit for the device's interrupt.
const NOTIFY_IRQ: u64 = 1;
/// How long DHCP may take before we fall back to a link-local address.
const DHCP_WAIT_NS: u64 = 3_000_000_000;
const VIRTIO_MMIO_SLOT: u64 = 512;

fn now_ns(clock: &sion_abi::call::ClockInfo) -> u64 {
    clock.tsc_to_ns(rt::rdtsc())
}

fn hex(v: &str) -> Option<u64> {
    u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
}

/// The first virtio-net device among the virtio-mmio slots at `base`
/// (QEMU `microvm`).
fn find_mmio_device(base: u64, len: u64) -> Option<SomeTransport<'static>> {
    let va = hal::map_mmio(base, len)?;
    for slot in 0..len / VIRTIO_MMIO_SLOT {
        let header = NonNull::new((va + slot * VIRTIO_MMIO_SLOT) as *mut VirtIOHeader)?;
        // SAFETY: the slot lies inside the device window just mapped, and
        // holds a virtio-mmio register block (QEMU fills every slot).
        let Ok(t) = (unsafe { MmioTransport::new(header, VIRTIO_MMIO_SLOT as usize) }) else { continue };
        if t.device_type() == DeviceType::Network {
            rt::log!("netstack: virtio-net on virtio-mmio slot {} ({:#x})", slot, base + slot * VIRTIO_MMIO_SLOT);
            return Some(t.into());
        }
        // Not ours (another server's device in the window): dropping a
        // transport resets its device, so it must be forgotten instead.
        core::mem::forget(t);
    }
    None
}

/// The first virtio-net device on PCI bus 0, through the ECAM at `ecam`
/// (QEMU `q35`); the firmware has assigned its BARs.
fn find_pci_device(ecam: u64) -> Option<SomeTransport<'static>> {
    // Bus 0 only: 32 devices x 8 functions x 4 KiB.
    let va = hal::map_mmio(ecam, 1 << 20)?;
    // SAFETY: the first MiB of the ECAM is mapped at `va` for the server's life.
    let mut root = PciRoot::new(unsafe { MmioCam::new(va as *mut u8, Cam::Ecam) });
    let found = root.enumerate_bus(0).find(|(_, info)| virtio_device_type(info) == Some(DeviceType::Network));
    let (df, _) = found?;
    root.set_command(df, Command::MEMORY_SPACE | Command::BUS_MASTER);
    match PciTransport::new::<NetHal, _>(&mut root, df) {
        Ok(t) => {
            rt::log!("netstack: virtio-net on PCI {}", df);
            Some(t.into())
        }
        Err(e) => {
            rt::log!("netstack: virtio-net on PCI {}: {:?}", df, e);
            None
        }
    }
}

fn main(boot: rt::Boot) -> ! {
    let clock = rt::clock_info().expect("clock");
    if let Err(e) = hal::init() {
        rt::log!("netstack: {}", e);
        idle_forever();
    }
    // Where to look: `netstack.ecam=BASE` (PCI), else the first granted window
    // holds virtio-mmio slots.
    let ecam = cmdline_value(boot.cmdline, "netstack.ecam").and_then(hex);
    let window = cmdline_value(boot.cmdline, "netstack.mmio").and_then(|v| v.split(',').next()?.split_once(':')).and_then(|(b, l)| Some((hex(b)?, hex(l)?)));
    let transport = match (ecam, window) {
        (Some(e), _) => find_pci_device(e),
        (None, Some((base, len))) => find_mmio_device(base, len),
        (None, None) => None,
    };
    let Some(transport) = transport else {
        rt::log!("netstack: no virtio-net device (granted: {}): no network", cmdline_value(boot.cmdline, "netstack.mmio").unwrap_or("nothing"));
        idle_forever();
    };
    if let Some((lo, hi)) = cmdline_value(boot.cmdline, "netstack.irq").and_then(|v| v.split_once('-')).and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?))) {
        // Which line the device uses depends on the slot; listen on all we were given.
        for gsi in lo..=hi {
            let _ = rt::irq_bind(gsi, NOTIFY_IRQ);
        }
    }
    let net = match crate::virtnet::VirtNet::new(transport) {
        Ok(n) => n,
        Err(e) => {
            rt::log!("netstack: virtio-net init failed: {:?}", e);
            idle_forever();
        }
    };
    let mac = net.mac_address();
    let neighbors = Rc::new(RefCell::new(Neighbors::new(mac)));
    let mut nic = Nic { net: Rc::new(RefCell::new(net)), arp: Rc::new(RefCell::new(Vec::new())), neighbors: neighbors.clone(), rx_packets: 0, bad_checksums: 0, tx_packets: Rc::new(RefCell::new(0)) };
    let mut seed = [0u8; 8];
    let _ = rt::hw_random(&mut seed);
    let seed = u64::from_le_bytes(seed) ^ rt::rdtsc();
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    config.random_seed = seed;
    let start = now_ns(&clock);
    let ts = |ns: u64| Instant::from_micros((ns / 1000) as i64);
    let eth = Interface::new(config, &mut nic, ts(start));
    let mut lo_dev = Lo::default();
    let mut lo = Interface::new(Config::new(HardwareAddress::Ip), &mut lo_dev, ts(start));
    lo.update_ip_addrs(|a| {
        let _ = a.push(IpCidr::Ipv4(Ipv4Cidr::new(Ipv4Address::new(127, 0, 0, 1), 8)));
    });
    let mut nets = Nets { eth, eth_set: SocketSet::new(vec![]), lo, lo_set: SocketSet::new(vec![]) };
    let dhcp = nets.eth_set.add(dhcpv4::Socket::new());
    let mut linklocal: Option<LinkLocal> = None;
    let mut configured_by = sion_abi::net::config::NONE;
    let mut service = Service::new(neighbors.clone());
    let mut clients: BTreeSet<u32> = BTreeSet::new();
    rt::log!("netstack: MAC {:02x?}, asking DHCP", mac);

    let mut buf = vec![0u8; Header::SIZE + Request::SIZE + sion_abi::net::MAX_DATA];
    // Counters for the log: what each received packet costs in wake-ups,
    // requests and polls (docs/benchmarks.md, "Where the time goes").
    let (mut irqs, mut timers, mut requests, mut polls) = (0u64, 0u64, 0u64, 0u64);
    let mut next_report = REPORT_EVERY;
    // Whether smoltcp must run: after an interrupt, a timer, or a request
    // that may have changed a socket. A probe answered EAGAIN (a try_recv or
    // try_accept with nothing there) changed nothing: no poll for it.
    let mut stirred = true;
    // The deadline last given to the kernel's timer (0: none).
    let mut timer_deadline = u64::MAX;
    loop {
        let now = now_ns(&clock);
        let mut changed = false;
        if core::mem::replace(&mut stirred, false) {
            polls += 1;
            changed = nets.eth.poll(ts(now), &mut nic, &mut nets.eth_set) == PollResult::SocketStateChanged;
            changed |= poll_lo(&mut nets, &mut lo_dev, ts(now));
        }
        if service.reap(&mut nets) | service.release_held(&mut nets, now) {
            nets.eth.poll(ts(now), &mut nic, &mut nets.eth_set);
        }

        // The event borrows the socket set: keep what we need of it.
        let lease = nets.eth_set.get_mut::<dhcpv4::Socket>(dhcp).poll().map(|e| match e {
            dhcpv4::Event::Configured(c) => Some((c.address, c.router)),
            dhcpv4::Event::Deconfigured => None,
        });
        match lease {
            Some(Some((address, router))) => {
                set_address(&mut nets, &neighbors, Some(address), now);
                if let Some(router) = router {
                    let _ = nets.eth.routes_mut().add_default_ipv4_route(router);
                }
                linklocal = None;
                configured_by = sion_abi::net::config::DHCP;
                rt::log!("netstack: address {} by DHCP", address);
                changed = true;
            }
            Some(None) if configured_by == sion_abi::net::config::DHCP => {
                set_address(&mut nets, &neighbors, None, now);
                nets.eth.routes_mut().remove_default_ipv4_route();
                configured_by = sion_abi::net::config::NONE;
                rt::log!("netstack: DHCP lease lost");
            }
            _ => {}
        }

        // No DHCP answer in time: RFC 3927 link-local.
        if configured_by == sion_abi::net::config::NONE && linklocal.is_none() && now - start >= DHCP_WAIT_NS {
            rt::log!("netstack: no DHCP server; choosing a link-local address");
            linklocal = Some(LinkLocal::new(mac, seed, now));
        }
        if let Some(ll) = linklocal.as_mut() {
            let seen: Vec<_> = nic.arp.borrow_mut().drain(..).collect();
            let mut actions: Vec<Action> = seen.iter().filter_map(|a| ll.on_arp(now, a)).collect();
            while let Some(a) = ll.poll(now) {
                actions.push(a);
            }
            for a in actions {
                match a {
                    Action::Probe(ip) => nic.send_raw(&ether::arp_request(mac, [0; 4], ip)),
                    Action::Announce(ip) => nic.send_raw(&ether::arp_request(mac, ip, ip)),
                    Action::Configure(ip) => {
                        set_address(&mut nets, &neighbors, Some(Ipv4Cidr::new(Ipv4Address::from(ip), 16)), now);
                        configured_by = sion_abi::net::config::LINK_LOCAL;
                        rt::log!("netstack: address {}.{}.{}.{}/16 (link-local)", ip[0], ip[1], ip[2], ip[3]);
                        changed = true;
                    }
                    Action::Deconfigure(ip) => {
                        set_address(&mut nets, &neighbors, None, now);
                        configured_by = sion_abi::net::config::NONE;
                        rt::log!("netstack: lost {}.{}.{}.{} to a conflict; choosing again", ip[0], ip[1], ip[2], ip[3]);
                    }
                }
            }
        } else {
            nic.arp.borrow_mut().clear();
        }

        if changed {
            for &c in &clients {
                let _ = rt::notify(sion_abi::TaskId(c), NOTIFY_NET);
            }
        }

        // Sleep until smoltcp, the link-local logic or DHCP's deadline needs us,
        // a packet arrives, or a client asks.
        let now = now_ns(&clock);
        let mut wake = nets.eth.poll_delay(ts(now), &nets.eth_set).map(|d| now + d.total_micros() * 1000);
        if let Some(d) = nets.lo.poll_delay(ts(now), &nets.lo_set) {
            let d = now + d.total_micros() * 1000;
            wake = Some(wake.map_or(d, |w| w.min(d)));
        }
        if let Some(d) = linklocal.as_ref().and_then(|l| l.deadline()) {
            wake = Some(wake.map_or(d, |w| w.min(d)));
        }
        if configured_by == sion_abi::net::config::NONE && linklocal.is_none() {
            let d = start + DHCP_WAIT_NS;
            wake = Some(wake.map_or(d, |w| w.min(d)));
        }
        // A kernel call only when the deadline moves (most loops keep it).
        let deadline = wake.map(|w| w.max(now + 1)).unwrap_or(0);
        if deadline != timer_deadline {
            timer_deadline = deadline;
            let _ = rt::timer_set(deadline);
        }
        if nic.net.borrow().can_recv() {
            stirred = true;
            continue; // more packets already waiting
        }
        let n = match rt::ipc_recv(&mut buf) {
            Ok(n) => n,
            Err(_) => {
                stirred = true;
                continue;
            }
        };
        let Some(h) = Header::decode(&buf[..n]) else { continue };
        stirred = true;
        match h.kind() {
            Some(Kind::Notification) => {
                let bits = u64::from_le_bytes(buf[Header::SIZE..Header::SIZE + 8].try_into().unwrap());
                if bits & NOTIFY_IRQ != 0 {
                    nic.net.borrow_mut().ack_interrupt();
                    irqs += 1;
                    if irqs == 1 {
                        rt::log!("netstack: first device interrupt");
                    }
                }
                if bits & NOTIFY_TIMER != 0 {
                    timers += 1;
                }
            }
            Some(Kind::Native) => {
                requests += 1;
                let payload = &buf[Header::SIZE..n];
                let client = h.sender;
                clients.insert(client);
                let (reply, data) = match Request::decode(payload) {
                    Some(req) => {
                        let data = &payload[Request::SIZE..];
                        let t = now_ns(&clock);
                        let out = service.handle(&mut nets, client, &req, data, t);
                        // Ask for a LAN neighbour ourselves before smoltcp would.
                        for ip in service.wanted.drain(..) {
                            if let Some(frame) = neighbors.borrow_mut().want(t, ip.to_be_bytes()) {
                                nic.send_raw(&frame);
                            }
                        }
                        // What the client queued goes out at the top of the
                        // loop, right after this reply and before the next
                        // request is read (one poll per request, not two).
                        out
                    }
                    None => (sion_abi::net::Reply::error(22), Vec::new()),
                };
                stirred = reply.result() != -crate::sockets::errno::EAGAIN;
                let mut out = Vec::with_capacity(sion_abi::net::Reply::SIZE + data.len());
                out.extend_from_slice(&reply.encode());
                out.extend_from_slice(&data);
                let _ = rt::ipc_reply(h.sender(), &out);
            }
            _ => {}
        }
        if nic.rx_packets >= next_report {
            next_report = nic.rx_packets + REPORT_EVERY;
            // Busy time of the whole node: under QEMU's -icount, guest instructions.
            let busy = rt::sys_info().map(|i| i.uptime_ns.saturating_sub(i.idle_ns)).unwrap_or(0);
            let own = rt::task_info(sion_abi::TaskId(boot.info.self_task)).map(|i| i.cpu_ns).unwrap_or(0);
            rt::log!(
                "netstack: {} packets in ({} bad TCP checksums), {} out; {} interrupts, {} timer wake-ups, {} requests, {} polls; node busy {} ns, netstack {} ns",
                nic.rx_packets,
                nic.bad_checksums,
                nic.tx_packets.borrow(),
                irqs,
                timers,
                requests,
                polls,
                busy,
                own
            );
        }
    }
}

/// Received packets between two lines of counters in the log.
const REPORT_EVERY: u64 = 1024;

/// Our IPv4 address, or none: smoltcp's and the neighbour table's at once.
fn set_address(nets: &mut Nets, neighbors: &RefCell<Neighbors>, cidr: Option<Ipv4Cidr>, now_ns: u64) {
    nets.eth.update_ip_addrs(|a| {
        a.clear();
        if let Some(c) = cidr {
            let _ = a.push(IpCidr::Ipv4(c));
        }
    });
    neighbors.borrow_mut().set_address(cidr.map(|c| (c.address().octets(), c.prefix_len())), now_ns);
}

/// Run the loopback until its packets are all delivered (each poll sends,
/// the next receives); true if any socket changed.
fn poll_lo(nets: &mut Nets, dev: &mut Lo, now: Instant) -> bool {
    let mut changed = false;
    for _ in 0..64 {
        changed |= nets.lo.poll(now, dev, &mut nets.lo_set) == PollResult::SocketStateChanged;
        if !dev.pending() {
            break;
        }
    }
    changed
}

fn idle_forever() -> ! {
    let mut buf = [0u8; 64];
    loop {
        let _ = rt::ipc_recv(&mut buf);
    }
}
