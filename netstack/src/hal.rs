//! The netstack's `virtio_drivers::Hal` is SiON's shared one (`sion-virtio`):
//! DMA memory from `dma_alloc`, registers mapped with `dev_map`, packets
//! copied through a pool of bounce buffers (the heap is not DMA memory).

pub use sion_virtio::hal::{init, map_mmio, SionHal as NetHal};
