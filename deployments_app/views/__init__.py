"""Views, one module per screen family: pages (read), actions (deploy), audit."""
