from mpksa import Client, Encoding, parameter_set, run_round, setup
from mpksa.randomness import SeededRandom


def test_v1_test_round_decrypts_exact_sum():
    params = parameter_set("v1-test-512")
    encoding = Encoding(max_clients=4)
    rng = SeededRandom(b"smoke")
    server_key, keys = setup(params, encoding, 30, range(4), rng)
    clients = [Client(i, keys[i], [((i * 7 + t) % 13 - 6) / 8 for t in range(30)]) for i in range(4)]
    result = run_round(params, encoding, server_key, clients, range(4), rng=rng)
    expected = [sum(round(((i * 7 + t) % 13 - 6) / 8 * 2**16) for i in range(4)) for t in range(30)]
    assert result.weighted_sums == expected
    assert result.weight_sum == 4
