//! An SM2 signature verifier that is not RustCrypto's `sm2`: the verification procedure of
//! GB/T 32918.2-2016 §7 written out over plain big integers (`num-bigint`), affine coordinates on the
//! recommended curve of GB/T 32918.5. Only SM3 comes from the platform's kernel (the hash is not the
//! signature scheme under test). Slow and simple on purpose.

use num_bigint::BigUint;
use num_traits::Zero;

const P: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF";
const A: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC";
const B: &str = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93";
const N: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";
const GX: &str = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7";
const GY: &str = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0";

fn hex_int(text: &str) -> BigUint {
    BigUint::parse_bytes(text.as_bytes(), 16).unwrap()
}

/// A point in affine coordinates; `None` is the point at infinity.
type Point = Option<(BigUint, BigUint)>;

struct Curve {
    p: BigUint,
    a: BigUint,
}

impl Curve {
    fn inv(&self, x: &BigUint) -> BigUint {
        // Fermat: x^(p−2) mod p.
        x.modpow(&(&self.p - 2_u32), &self.p)
    }

    fn sub(&self, x: &BigUint, y: &BigUint) -> BigUint {
        ((x + &self.p) - (y % &self.p)) % &self.p
    }

    fn add(&self, u: &Point, v: &Point) -> Point {
        let (Some((x1, y1)), Some((x2, y2))) = (u, v) else {
            return u.clone().or_else(|| v.clone());
        };
        let p = &self.p;
        let lambda = if x1 == x2 {
            if ((y1 + y2) % p).is_zero() {
                return None;
            }
            (BigUint::from(3_u32) * x1 * x1 + &self.a) % p
                * self.inv(&((BigUint::from(2_u32) * y1) % p))
                % p
        } else {
            self.sub(y2, y1) * self.inv(&self.sub(x2, x1)) % p
        };
        let x3 = self.sub(&self.sub(&(&lambda * &lambda % p), x1), x2);
        let y3 = self.sub(&(&lambda * self.sub(x1, &x3) % p), y1);
        Some((x3, y3))
    }

    fn mul(&self, k: &BigUint, point: &Point) -> Point {
        let mut acc: Point = None;
        for i in (0..k.bits()).rev() {
            acc = self.add(&acc, &acc);
            if k.bit(i) {
                acc = self.add(&acc, point);
            }
        }
        acc
    }
}

fn be32(x: &BigUint) -> Vec<u8> {
    let bytes = x.to_bytes_be();
    let mut out = vec![0_u8; 32 - bytes.len()];
    out.extend_from_slice(&bytes);
    out
}

/// GB/T 32918.2 verification of `r ‖ s` over `msg` with distinguishing identifier `id` and the
/// public key as uncompressed hex `04 ‖ x ‖ y`.
#[expect(
    clippy::many_single_char_names,
    reason = "the standard's names: r, s, e, t, n, x, y"
)]
pub fn verify(public_key_hex: &str, id: &[u8], msg: &[u8], signature: &[u8]) -> bool {
    let curve = Curve {
        p: hex_int(P),
        a: hex_int(A),
    };
    let n = hex_int(N);
    let key = hex::decode(public_key_hex).unwrap();
    if key.len() != 65 || key[0] != 4 || signature.len() != 64 {
        return false;
    }
    let (xa, ya) = (
        BigUint::from_bytes_be(&key[1..33]),
        BigUint::from_bytes_be(&key[33..]),
    );
    let r = BigUint::from_bytes_be(&signature[..32]);
    let s = BigUint::from_bytes_be(&signature[32..]);
    if r.is_zero() || s.is_zero() || r >= n || s >= n {
        return false;
    }
    // Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)
    let entl = u16::try_from(id.len() * 8).unwrap().to_be_bytes();
    let mut z_input = Vec::new();
    z_input.extend_from_slice(&entl);
    z_input.extend_from_slice(id);
    for v in [
        hex_int(A),
        hex_int(B),
        hex_int(GX),
        hex_int(GY),
        xa.clone(),
        ya.clone(),
    ] {
        z_input.extend_from_slice(&be32(&v));
    }
    let z = yiwang_kernel::crypto::sm3::digest(&z_input);
    let mut e_input = z.to_vec();
    e_input.extend_from_slice(msg);
    let e = BigUint::from_bytes_be(&yiwang_kernel::crypto::sm3::digest(&e_input));
    let t = (&r + &s) % &n;
    if t.is_zero() {
        return false;
    }
    let g: Point = Some((hex_int(GX), hex_int(GY)));
    let pa: Point = Some((xa, ya));
    let Some((x1, _)) = curve.add(&curve.mul(&s, &g), &curve.mul(&t, &pa)) else {
        return false;
    };
    (e + x1) % &n == r
}

/// The reference verifier accepts the standard's own example (GB/T 32918.5 appendix A, message
/// "message digest") and refuses it altered: it implements the standard, not the platform.
#[test]
fn reference_verifier_checks_the_standard_example() {
    let public = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020\
                  ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
    let sig = hex::decode(
        "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3\
         b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa",
    )
    .unwrap();
    assert!(verify(public, b"1234567812345678", b"message digest", &sig));
    assert!(!verify(
        public,
        b"1234567812345678",
        b"message digesT",
        &sig
    ));
    assert!(!verify(
        public,
        b"1234567812345679",
        b"message digest",
        &sig
    ));
}
