"""Search (查找): one box that finds a person by name, ID number, phone, tube barcode or a
case, placement or traveller number, and what the platform holds about them across the
capabilities (``service``). It reads other capabilities' tables and writes none."""
