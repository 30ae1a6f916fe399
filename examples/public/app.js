const output = document.getElementById("time");
const refresh = async () => {
  const response = await fetch("/api/time");
  output.textContent = (await response.json()).time;
};
refresh();
setInterval(refresh, 1000);
