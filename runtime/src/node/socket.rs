//! The node's UDP socket options.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;

/// What the node asks for as its socket receive buffer, in bytes. Linux's
/// default (~208 KiB) overflows when hundreds of peers open connections at
/// once (an agent whose executors all start together), and every Initial
/// packet lost there costs its sender a full QUIC probe timeout (1 s) before
/// it retries. The kernel caps the value at `net.core.rmem_max`.
pub(crate) const RECEIVE_BUFFER_BYTES: usize = 4 << 20;

/// Asks the kernel for a larger receive buffer; a refusal only costs
/// performance, so it is logged, not returned.
pub(crate) fn grow_receive_buffer(socket: &UdpSocket, bytes: usize) {
    let Ok(size) = libc::c_int::try_from(bytes) else {
        return;
    };
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a pointer to
    // a live c_int; the descriptor belongs to `socket`, which outlives the
    // call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        let error = std::io::Error::last_os_error();
        tracing::debug!(%error, "could not grow the UDP receive buffer");
    }
}
