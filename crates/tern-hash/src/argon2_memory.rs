//! Argon2's working memory, kept per thread and reused.
//!
//! One Argon2id computation under the default policy needs 19 MiB. Had the
//! crate allocate and free it per call, glibc's allocator would raise its
//! mmap threshold after the first free and serve later ones from its
//! arenas, which fragment and keep the memory: a server that verified a few
//! dozen passwords held hundreds of megabytes. Here each thread allocates
//! its buffer once (grown when a hash asks for more) and keeps it; a buffer
//! larger than [`KEEP_BLOCKS`] (an unusually costly legacy hash) is freed
//! after use, so what stays is at most one ordinary hash per thread. The
//! server runs every hash on a few threads of its own (`hash_pool`), so
//! that is the memory hashing holds.

use std::cell::RefCell;

use argon2::{Argon2, Block};

/// Blocks (1 KiB each) a thread keeps between computations: 64 MiB.
const KEEP_BLOCKS: usize = 64 * 1024;

thread_local! {
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// `engine.hash_password_into`, on this thread's reused memory.
pub(crate) fn hash_into(
    engine: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let needed = engine.params().block_count();
    BLOCKS.with(|cell| {
        let Ok(mut blocks) = cell.try_borrow_mut() else {
            // Re-entered (never in practice): compute with fresh memory.
            return engine.hash_password_into(password, salt, out);
        };
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        let result =
            engine.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed]);
        if blocks.len() > KEEP_BLOCKS {
            *blocks = Vec::new();
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_memory_gives_the_same_hash() {
        let params = argon2::Params::new(1024, 1, 1, Some(32)).unwrap();
        let engine = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let (mut a, mut b, mut c) = ([0u8; 32], [0u8; 32], [0u8; 32]);
        engine
            .hash_password_into(b"pw", b"saltsaltsalt", &mut a)
            .unwrap();
        hash_into(&engine, b"pw", b"saltsaltsalt", &mut b).unwrap();
        hash_into(&engine, b"pw", b"saltsaltsalt", &mut c).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c, "dirty memory from the last call changes nothing");
    }
}
